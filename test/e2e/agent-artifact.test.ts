import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentArtifact, ServiceProcess, startFleet, type AgentArtifact, type Fleet } from '@keyfleet/test-harness';

/** No Node resolution from here can reach a node_modules: the artifact must carry everything. */
function nodeModulesOnPath(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return join(d, 'node_modules');
    if (dirname(d) === d) return undefined;
  }
}

// Plain node, nothing inherited that could find packages for it.
const bare = { NODE_PATH: '', NODE_OPTIONS: '' };

describe('the self-contained agent artifact (real NATS, Postgres and hub)', () => {
  let fleet: Fleet;
  let artifact: AgentArtifact;
  let buildDir: string;
  let hostDir: string;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    buildDir = await mkdtemp(join(tmpdir(), 'kf-artifact-build-'));
    hostDir = await mkdtemp(join(tmpdir(), 'kf-artifact-host-'));
    [fleet, artifact] = await Promise.all([startFleet(), buildAgentArtifact({ outDir: buildDir, version: '0.1.0-test.artifact' })]);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await fleet?.stop();
    await Promise.all([buildDir, hostDir].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('copied alone into an empty directory, it prints its version, enrolls and runs system.info', async () => {
    expect(nodeModulesOnPath(hostDir)).toBeUndefined();
    const file = join(hostDir, 'keyfleet-agent.mjs');
    await copyFile(artifact.file, file);

    const version = spawnSync(process.execPath, [file, '--version'], { cwd: hostDir, env: { ...process.env, ...bare }, encoding: 'utf8' });
    expect(version.stdout.trim(), version.stderr).toBe('0.1.0-test.artifact');

    const token = await fleet.api.enrollmentToken({ role: 'artifact' });
    const stateDir = join(hostDir, 'state');
    const enroll = new ServiceProcess(
      'artifact-enroll',
      file,
      ['enroll', '--hub', fleet.hub.url, '--state-dir', stateDir],
      { ...bare, KEYFLEET_ENROLL_TOKEN: token },
      {
        plain: true,
        cwd: hostDir,
      },
    ).start();
    const [, hostId] = await enroll.waitFor(/enrolled as (\S+);/);
    expect(await enroll.exited()).toBe(0);

    const run = new ServiceProcess(
      'artifact-agent',
      file,
      ['run', '--state-dir', stateDir],
      { ...bare, KEYFLEET_HEARTBEAT_INTERVAL_MS: '500' },
      {
        plain: true,
        cwd: hostDir,
      },
    ).start();
    procs.push(run);
    await run.waitFor(/hub welcomed the agent/);

    const host = await fleet.api.call('GET', `/v1/hosts/${hostId}`);
    expect(host.body.agentVersion).toBe('0.1.0-test.artifact');

    const created = await fleet.api.call('POST', '/v1/tasks', { type: 'system.info', target: { hostId } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const task = await fleet.api.waitForTask(created.body.tasks[0].id, ['succeeded', 'failed']);
    expect(task.state, JSON.stringify(task.error)).toBe('succeeded');
    expect(task.output.memory.totalBytes).toBeGreaterThan(0);
    expect(task.output.os.kernel).not.toBe('');
  });

  it('is one file with its sha256 beside it, in sha256sum format', () => {
    const check = spawnSync('sha256sum', ['-c', `${artifact.file}.sha256`], { cwd: buildDir, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(artifact.size).toBeGreaterThan(1_000_000);
  });
});
