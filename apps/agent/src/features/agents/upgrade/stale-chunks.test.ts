import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentArtifact, startNats, type NatsServer } from '@keyfleet/test-harness';
import { identityStore } from '../../../identity-store.js';
import { pruneStaleChunks } from './stale-chunks.js';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('chunks of agent builds no artifact uses any more (a real artifact, run as the agent)', () => {
  let nats: NatsServer;
  let dir: string;
  let artifactDir: string;
  let artifact: string;
  let build: string;
  let chunks: string;
  const hourAgo = new Date(Date.now() - 3_600_000);
  /** A build extracted an hour ago, as the loader leaves it. */
  const extracted = async (name: string) => {
    await mkdir(join(chunks, name), { recursive: true });
    await writeFile(join(chunks, name, 'main.mjs'), '');
    await utimes(join(chunks, name), hourAgo, hourAgo);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-stale-chunks-'));
    artifactDir = join(dir, 'opt-keyfleet-agent');
    [nats] = await Promise.all([startNats(), mkdir(artifactDir)]);
    const built = await buildAgentArtifact({ outDir: join(dir, 'build') });
    artifact = join(artifactDir, 'keyfleet-agent.mjs');
    await writeFile(artifact, await readFile(built.file), { mode: 0o755 });
    // Running it extracts its build, as on a host.
    await promisify(execFile)(process.execPath, [artifact, '--version']);
    chunks = join(artifactDir, '.keyfleet-agent-chunks');
    const builds = await readdir(chunks);
    expect(builds).toEqual([expect.stringMatching(/^[0-9a-f]{16}$/)]);
    build = builds[0]!;
  }, 120_000);

  afterAll(async () => {
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the agent removes them at its start; it keeps its own build, the previous agent’s (rollback), fresh ones and one being written', async () => {
    await utimes(join(chunks, build), hourAgo, hourAgo);
    // The agent before the upgrade: what the watchdog runs from and a rollback puts back.
    const previousBuild = 'a'.repeat(16);
    await writeFile(join(artifactDir, 'keyfleet-agent.prev.mjs'), (await readFile(artifact, 'latin1')).replace(`'${build}'`, `'${previousBuild}'`), 'latin1');
    await extracted(previousBuild);
    const older = 'b'.repeat(16);
    await extracted(older);
    // Extracted a moment ago by something this listing cannot see yet.
    await mkdir(join(chunks, 'c'.repeat(16)));
    const exited = spawn(process.execPath, ['-e', '']);
    await once(exited, 'exit');
    const abandoned = `${'d'.repeat(16)}.${exited.pid}.tmp`;
    await extracted(abandoned);
    const writing = `${'e'.repeat(16)}.${process.pid}.tmp`;
    await extracted(writing);

    const stateDir = join(dir, 'state');
    const user = createUser();
    await identityStore.save(
      stateDir,
      { hostId: 'h-chunks', hubUrl: 'http://hub.invalid', natsServers: [nats.url], labels: {} },
      { jwt: await nats.authority.agentJwt('h-chunks', user.getPublicKey()), seed: new TextDecoder().decode(user.getSeed()) },
    );
    // The agent logs to stderr.
    const agent = spawn(process.execPath, [artifact, 'run', '--state-dir', stateDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let said: { removed?: string[]; msg: string } | undefined;
      for await (const line of createInterface({ input: agent.stderr })) {
        // Node's own warnings go to stderr too.
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { removed?: string[]; msg: string };
        if (/removed the extracted chunks/.test(entry.msg)) {
          said = entry;
          break;
        }
      }
      expect(said?.msg).toBe('removed the extracted chunks of 2 agent build(s) no artifact uses any more');
      expect(said?.removed?.sort()).toEqual([older, abandoned].sort());
      expect((await readdir(chunks)).sort()).toEqual([build, previousBuild, 'c'.repeat(16), writing].sort());
    } finally {
      agent.kill('SIGTERM');
      await once(agent, 'exit');
    }
  });

  it('leaves a directory without extracted chunks alone', async () => {
    expect(await pruneStaleChunks(join(dir, 'build', 'nothing-here'))).toEqual([]);
    expect(await exists(join(dir, 'build', 'nothing-here'))).toBe(false);
  });
});
