import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { taskDefinitionList } from '@keyfleet/proto/v1';
import { type AgentProcess, expectStatus, type Fleet, repoRoot, startFleet } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const run = promisify(execFile);

describe('the keyfleet CLI against a real hub and agent', () => {
  let fleet: Fleet;
  let agent: AgentProcess;

  /** Runs `./keyfleet` with the fleet's hub and admin token; never throws, returns the exit code. */
  const keyfleet = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(join(repoRoot, 'keyfleet'), args, {
        env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken, KEYFLEET_REPO_DIR: '/nonexistent' },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    fleet = await startFleet();
    agent = await fleet.addAgent({ labels: { role: 'cli' } });
    await vi.waitFor(async () => expect((await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: agent.hostId } }), 200)).status).toBe('online'), {
      timeout: 30_000,
      interval: 100,
    });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('lists every declared task type, and each type’s help lists its parameters from the declaration', async () => {
    const types = await keyfleet('-o', 'json', 'tasks', 'types');
    expect(types.code, types.stderr).toBe(0);
    expect(JSON.parse(types.stdout).map((t: { name: string }) => t.name)).toEqual(taskDefinitionList.map((d) => d.name));

    const help = await keyfleet('tasks', 'run', 'noop', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}delayMs=<integer> +\(default 0\)$/m);
    expect(help.stdout).toMatch(/^ {2}fail=<string> +fail with this message instead of succeeding$/m);
  });

  it('runs a task with params converted by their declared types and shows the declared summary', async () => {
    const res = await keyfleet('tasks', 'run', 'noop', '--target', 'role=cli', '--param', 'delayMs=20', '--param', 'sizeBytes=3', '--wait');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(agent.hostId);
    expect(res.stdout).toContain('waited 20 ms, 3 bytes');
  });

  it('exits 1 with the error when the task fails on a host, 2 when the command itself is wrong', async () => {
    const failed = await keyfleet('tasks', 'run', 'noop', '--target', agent.hostId, '--param', 'fail=500', '--wait');
    expect(failed.code).toBe(1);
    // "500" stays a string because `fail` is declared a string.
    expect(failed.stdout).toContain('handler_error: 500');

    const unknownParam = await keyfleet('tasks', 'run', 'noop', '--target', 'all', '--param', 'delay=5');
    expect(unknownParam.code).toBe(2);
    expect(unknownParam.stderr).toContain('noop has no parameter "delay"; its parameters: delayMs, sizeBytes, fail');

    const badValue = await keyfleet('tasks', 'run', 'noop', '--target', 'all', '--param', 'delayMs=soon');
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('expected an integer');

    const unknownType = await keyfleet('tasks', 'run', 'no.such.task', '--target', 'all');
    expect(unknownType.code).toBe(2);
    expect(unknownType.stderr).toContain("unknown command 'no.such.task'");
  });

  it('shows hosts with the columns the features add', async () => {
    const res = await keyfleet('hosts', 'list');
    expect(res.code, res.stderr).toBe(0);
    const headers = res.stdout
      .split('\n')[0]!
      .split(/ {2,}/)
      .map((h) => h.trim());
    expect(headers).toEqual(expect.arrayContaining(['ID', 'HOSTNAME', 'STATUS', 'AGENT', 'KEYCLOAK', 'VERIFIED', 'LAST HEARTBEAT', 'LABELS']));
    expect(res.stdout).toContain(agent.hostId);
  });
});
