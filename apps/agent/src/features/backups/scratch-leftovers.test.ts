import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import { startAgent } from '../../agent.js';
import { identityStore } from '../../identity-store.js';
import { features } from '../index.js';
import { ScratchKeycloak } from './scratch-keycloak.js';
import { scratchLeftovers } from './scratch-leftovers.js';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Stands in for a scratch Keycloak: a process leading its own group, running until signalled, as kc.sh start does. */
async function standIn(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { detached: true, stdio: 'ignore' });
  await once(child, 'spawn');
  return child;
}

describe('scratch Keycloak leftovers of a drill the agent did not finish (real processes)', () => {
  let nats: NatsServer;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    nats = await startNats();
    dir = await mkdtemp(join(tmpdir(), 'kf-scratch-leftovers-'));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the agent reaps them when it starts: the recorded scratch Keycloak stopped, its data dir removed, both in the log', async () => {
    const stateDir = join(dir, 'agent');
    const user = createUser();
    await identityStore.save(
      stateDir,
      { hostId: 'h-reap', hubUrl: 'http://hub.invalid', natsServers: [nats.url], labels: {} },
      { jwt: await nats.authority.agentJwt('h-reap', user.getPublicKey()), seed: new TextDecoder().decode(user.getSeed()) },
    );
    // What a drill had when the agent died: its scratch Keycloak recorded and running, its data dir in use.
    const dataDir = join(stateDir, 'backups', 'drill-keycloak', '26.7.4-0123456789ab', 'data');
    await mkdir(join(dataDir, 'transaction-logs'), { recursive: true });
    await writeFile(join(dataDir, 'transaction-logs', 'ShadowNoFileLockStore'), 'x');
    const leftover = await standIn();
    children.push(leftover);
    const exited = once(leftover, 'exit');
    await scratchLeftovers.record(stateDir, leftover.pid!, dataDir);

    const lines: Array<{ msg: string; pid?: number; stopped?: boolean }> = [];
    const agent = await startAgent({
      stateDir,
      features,
      heartbeatIntervalMs: 60_000,
      stopGraceMs: 100,
      log: createLogger('agent', {
        destination: new Writable({
          write: (c, _e, cb) => {
            lines.push(JSON.parse(String(c)));
            cb();
          },
        }),
      }),
    });
    try {
      // Services start before startAgent resolves: the reaping is done by now.
      expect(await exited).toEqual([null, 'SIGTERM']);
      expect(await exists(dataDir)).toBe(false);
      expect(await exists(scratchLeftovers.path(stateDir))).toBe(false);
      const said = lines.filter((l) => /reaped the scratch Keycloak/.test(l.msg));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatchObject({ pid: leftover.pid, stopped: true });
      expect(said[0]!.msg).toMatch(new RegExp(`stopped its Keycloak \\(pid ${leftover.pid}\\); removed its data dir ${dataDir}`));
    } finally {
      await agent.stop();
    }
  });

  it('never stops another process that got the recorded pid, and still removes the data dir', async () => {
    const stateDir = join(dir, 'reused');
    const dataDir = join(stateDir, 'backups', 'drill-keycloak', 'x', 'data');
    await mkdir(dataDir, { recursive: true });
    const other = await standIn();
    children.push(other);
    await scratchLeftovers.record(stateDir, other.pid!, dataDir);
    // The recorded process started at another time: the pid now belongs to someone else.
    const record = JSON.parse(await readFile(scratchLeftovers.path(stateDir), 'utf8')) as { identity: string };
    await writeFile(scratchLeftovers.path(stateDir), JSON.stringify({ ...record, identity: `${record.identity.split('/')[0]}/1` }));

    const lines: Array<{ msg: string; stopped?: boolean }> = [];
    const log = createLogger('agent', {
      destination: new Writable({
        write: (c, _e, cb) => {
          lines.push(JSON.parse(String(c)));
          cb();
        },
      }),
    });
    await scratchLeftovers.reap(stateDir, log);
    expect(lines).toEqual([expect.objectContaining({ stopped: false, msg: expect.stringMatching(/had exited already; removed its data dir/) })]);
    expect(other.exitCode).toBeNull();
    expect(other.signalCode).toBeNull();
    expect(process.kill(other.pid!, 0)).toBe(true);
    expect(await exists(dataDir)).toBe(false);
    expect(await exists(scratchLeftovers.path(stateDir))).toBe(false);
  });

  it('stops a recorded process that does not lead a process group of its own', async () => {
    const stateDir = join(dir, 'no-group');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
    const exited = once(child, 'exit');
    await scratchLeftovers.record(stateDir, child.pid!, join(stateDir, 'backups', 'data'));
    await scratchLeftovers.reap(stateDir, createLogger('agent', { level: 'silent' }));
    expect(await exited).toEqual([null, 'SIGTERM']);
  });

  it('a drill records its scratch Keycloak while it runs and forgets it once stopped', async () => {
    const stateDir = join(dir, 'drill');
    const home = join(stateDir, 'backups', 'drill-keycloak', 'h');
    await mkdir(join(home, 'bin'), { recursive: true });
    // kc.sh as far as a scratch start needs it: bootstrap-admin succeeds, start serves health UP on both listeners.
    await writeFile(
      join(home, 'bin', 'kc.sh'),
      `#!/bin/sh
[ "$1" = bootstrap-admin ] && exit 0
exec ${process.execPath} -e '
const http = require("node:http");
for (const port of [process.env.KC_HTTP_PORT, process.env.KC_HTTP_MANAGEMENT_PORT])
  http.createServer((req, res) => res.end(JSON.stringify({ status: "UP" }))).listen(Number(port), "127.0.0.1");
'
`,
    );
    await chmod(join(home, 'bin', 'kc.sh'), 0o755);
    const keycloak = await ScratchKeycloak.start({
      home,
      javaHome: '/nonexistent',
      db: { url: 'jdbc:postgresql://127.0.0.1:1/none', username: 'u', password: 'p' },
      stateDir,
      signal: AbortSignal.timeout(60_000),
    });
    try {
      const record = JSON.parse(await readFile(scratchLeftovers.path(stateDir), 'utf8')) as { pid: number; dataDir: string };
      expect(record.dataDir).toBe(join(home, 'data'));
      expect(process.kill(record.pid, 0)).toBe(true);
      expect(await readFile(`/proc/${record.pid}/cmdline`, 'utf8')).toContain(process.execPath);
    } finally {
      await keycloak.stop();
    }
    expect(await exists(scratchLeftovers.path(stateDir))).toBe(false);
  });
});
