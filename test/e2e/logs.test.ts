import { spawn } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AgentProcess, type Fleet, repoRoot, startFleet } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './run-cli.js';

interface Entry {
  id: string;
  level: string;
  source: string;
  line: string;
}

describe('log shipping through a real hub, NATS and agent', () => {
  let fleet: Fleet;
  let agent: AgentProcess;
  let kcLog: string;
  const interval = process.env.KEYFLEET_LOGS_INTERVAL_MS;

  const lines = async (query = ''): Promise<Entry[]> => {
    const res = await fetch(`${fleet.hub.url}/v1/hosts/${agent.hostId}/logs?since=1h${query}`, {
      headers: { authorization: `Bearer ${fleet.hub.adminToken}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Entry[] }).items;
  };

  beforeAll(async () => {
    // The agents this file starts inherit it: a short interval keeps the test short.
    process.env.KEYFLEET_LOGS_INTERVAL_MS = '200';
    fleet = await startFleet();
    agent = await fleet.addAgent({ start: false });
    // Where the process runtime's Keycloak writes its log.
    await mkdir(join(agent.stateDir, 'keycloak'), { recursive: true });
    kcLog = join(agent.stateDir, 'keycloak', 'keycloak.log');
    await writeFile(
      kcLog,
      '2026-12-01 10:00:00,001 INFO  [io.quarkus] Keycloak started\n2026-12-01 10:00:01,002 WARN  [org.keycloak.events] login failed password=hunter2\n',
    );
    await agent.start();
  });
  afterAll(async () => {
    await fleet?.stop();
    if (interval === undefined) delete process.env.KEYFLEET_LOGS_INTERVAL_MS;
    else process.env.KEYFLEET_LOGS_INTERVAL_MS = interval;
  });

  it('ships Keycloak’s log with levels, secrets redacted, and `keyfleet logs` reads it', async () => {
    await vi.waitFor(async () => expect(await lines()).toHaveLength(2), { timeout: 15_000, interval: 200 });
    expect((await lines()).map((l) => [l.source, l.level, l.line])).toEqual([
      ['keycloak', 'info', '2026-12-01 10:00:00,001 INFO  [io.quarkus] Keycloak started'],
      ['keycloak', 'warn', '2026-12-01 10:00:01,002 WARN  [org.keycloak.events] login failed password=[redacted]'],
    ]);
    const plain = await runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, 'logs', '--host', agent.hostId, '--level', 'warn');
    expect(plain.status).toBe(0);
    expect(plain.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^\S+Z WARN {2}keycloak 2026-12-01 .*login failed password=\[redacted\]$/)]);
    const json = await runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, '-o', 'json', 'logs', '--host', agent.hostId, '--grep', 'QUARKUS');
    expect((JSON.parse(json.stdout) as { items: Entry[] }).items.map((l) => l.line)).toEqual(['2026-12-01 10:00:00,001 INFO  [io.quarkus] Keycloak started']);
  });

  it('goes on where the hub’s copy ends after an agent restart: nothing lost, nothing twice', async () => {
    await agent.kill('SIGTERM');
    await appendFile(kcLog, '2026-12-01 10:00:02,003 ERROR [org.keycloak] written while the agent was down\n');
    await agent.start();
    await vi.waitFor(async () => expect(await lines()).toHaveLength(3), { timeout: 15_000, interval: 200 });
    const all = await lines();
    expect(new Set(all.map((l) => l.id)).size).toBe(3);
    expect(all[2]).toMatchObject({ level: 'error', line: '2026-12-01 10:00:02,003 ERROR [org.keycloak] written while the agent was down' });
    const unknown = await runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, 'logs', '--host', 'no-such-host');
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('host no-such-host not found');
  });

  it('`keyfleet logs --follow` prints lines as they arrive, one JSON object each with -o json', async () => {
    const follow = spawn(join(repoRoot, 'keyfleet'), ['-o', 'json', 'logs', '--host', agent.hostId, '--level', 'error', '--follow', '--interval', '1'], {
      env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken },
    });
    let out = '';
    follow.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await vi.waitFor(() => expect(out).toContain('written while the agent was down'), { timeout: 15_000, interval: 100 });
      await appendFile(kcLog, '2026-12-01 10:00:03,004 ERROR [org.keycloak] followed\n');
      await vi.waitFor(() => expect(out.trim().split('\n')).toHaveLength(2), { timeout: 15_000, interval: 100 });
      expect(
        out
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as Entry).line),
      ).toEqual(['2026-12-01 10:00:02,003 ERROR [org.keycloak] written while the agent was down', '2026-12-01 10:00:03,004 ERROR [org.keycloak] followed']);
    } finally {
      follow.kill();
    }
  });
});
