import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectStatus, repoRoot, startFleet, type Fleet } from '@keyfleet/test-harness';

describe('fleet lifecycle (real NATS, Postgres, hub and agents)', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet();
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  const hostOf = (id: string) => expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id } }), 200);

  it('enroll → online → heartbeat in the API; 3 missed heartbeats → offline', async () => {
    const agent = await fleet.addAgent({ labels: { role: 'solo' }, heartbeatIntervalMs: 500 });
    const host = await vi.waitFor(
      async () => {
        const h = await hostOf(agent.hostId);
        expect(h).toMatchObject({ status: 'online', lastHeartbeat: expect.anything() });
        return h;
      },
      { timeout: 30_000, interval: 100 },
    );
    const heartbeat = v1.messages.heartbeat.pick({ memory: true, disks: true }).parse(host.lastHeartbeat);
    expect(heartbeat.memory.totalBytes).toBeGreaterThan(0);
    expect(heartbeat.disks.length).toBeGreaterThan(0);
    expect(host.taskTypes).toEqual(expect.arrayContaining(['noop', 'system.info']));
    expect(host.agentVersion).toMatch(/\d+\.\d+\.\d+/);

    await agent.kill('SIGKILL');
    const killedAt = Date.now();
    await vi.waitFor(async () => expect((await hostOf(agent.hostId)).status).toBe('offline'), { timeout: 15_000, interval: 100 });
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

    const list = await expectStatus(fleet.api.api.v1.tasks.$get({ query: { type: 'system.info' } }), 200);
    const mine = list.items.filter((t) => agents.some((a) => a.hostId === t.hostId));
    expect(mine).toHaveLength(3);
    for (const t of mine) {
      expect(t.state).toBe('succeeded');
      const output = v1.taskDefinitions['system.info'].output.parse(t.output);
      expect(output.memory.totalBytes).toBeGreaterThan(0);
      expect(output.os.kernel).not.toBe('');
      expect(typeof output.docker.present).toBe('boolean');
    }
  });
});
