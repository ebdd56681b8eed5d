import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startFleet, type Fleet } from '@keyfleet/test-harness';

describe('fleet lifecycle (real NATS, Postgres, hub and agents)', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet();
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('enroll → online → heartbeat in the API; 3 missed heartbeats → offline', async () => {
    const agent = await fleet.addAgent({ labels: { role: 'solo' }, heartbeatIntervalMs: 500 });
    const host = await fleet.api.until('a heartbeat', async () => {
      const r = await fleet.api.call('GET', `/v1/hosts/${agent.hostId}`);
      return r.body.status === 'online' && r.body.lastHeartbeat ? r.body : undefined;
    });
    expect(host.lastHeartbeat.memory.totalBytes).toBeGreaterThan(0);
    expect(host.lastHeartbeat.disks.length).toBeGreaterThan(0);
    expect(host.taskTypes).toEqual(expect.arrayContaining(['noop', 'system.info']));
    expect(host.agentVersion).toMatch(/\d+\.\d+\.\d+/);

    await agent.kill('SIGKILL');
    const killedAt = Date.now();
    await fleet.api.until(
      'the host to go offline',
      async () => {
        const r = await fleet.api.call('GET', `/v1/hosts/${agent.hostId}`);
        return r.body.status === 'offline' ? true : undefined;
      },
      15_000,
    );
    // Three missed 500 ms heartbeats, not one: offline no sooner than ~1.5 s after the last one.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000);
    await agent.remove();
  });

  it('system.info on 3 agents through a label selector: 3 results stored, CLI exit 0', async () => {
    const agents = await Promise.all([1, 2, 3].map(() => fleet.addAgent({ labels: { role: 'kc' } })));

    const cli = spawnSync(join(repoRoot, 'keyfleet'), ['tasks', 'run', 'system.info', '--target', 'role=kc', '--wait'], {
      env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status, `${cli.stdout}\n${cli.stderr}`).toBe(0);
    for (const a of agents) expect(cli.stdout).toContain(a.hostId);

    const list = await fleet.api.call('GET', '/v1/tasks?type=system.info');
    const mine = list.body.items.filter((t: any) => agents.some((a) => a.hostId === t.hostId));
    expect(mine).toHaveLength(3);
    for (const t of mine) {
      expect(t.state).toBe('succeeded');
      expect(t.output.memory.totalBytes).toBeGreaterThan(0);
      expect(t.output.os.kernel).not.toBe('');
      expect(typeof t.output.docker.present).toBe('boolean');
    }
  });
});
