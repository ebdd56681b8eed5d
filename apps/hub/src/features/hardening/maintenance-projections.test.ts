import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import type { FakeAgent } from '../../testing/fake-agent.js';
import { fleetApi } from '../../testing/fleet-api.js';
import type { HubTestClient, TaskRequest } from '../../testing/hub-test-client.js';
import { testBackends } from '../../testing/test-database.js';
import { startTestFleet, type TestFleet } from '../../testing/test-fleet.js';
import { waitOptions } from '../../testing/wait-options.js';
import type { HardeningRoutes } from './index.js';

const updates = (checkedAt: string, security: number) => ({
  checkedAt,
  packages: Array.from({ length: security + 1 }, (_, i) => ({ name: `p${i}`, from: '1', to: '2', origin: 'Debian', security: i < security })),
  security,
  rebootRequired: security > 0,
  rebootPackages: security > 0 ? ['libc6'] : [],
});

describe.each(testBackends)('the maintenance read model (%s)', (backend) => {
  let fleet: TestFleet;
  let api: HubTestClient;
  beforeAll(async () => {
    fleet = await startTestFleet(backend);
    api = await fleetApi(fleet, (await fleet.startHub()).dispatcher);
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  async function answer(agent: FakeAgent, json: TaskRequest, output: unknown): Promise<string> {
    const { tasks } = await expectStatus(api.api.v1.tasks.$post({ json }), 201);
    const id = tasks[0]!.id;
    await vi.waitFor(() => expect(agent.tasks.some((t) => t.taskId === id)).toBe(true), waitOptions);
    expect((await agent.result(id, 'succeeded', { output })).kind).toBe('ack');
    return id;
  }
  const routes = () => api.routes<HardeningRoutes>('/v1');

  it('keeps each host’s last report per task, ignores an older one arriving late, and lists the fleet', async () => {
    const agent = await fleet.agent(await fleet.addHost());
    expect((await agent.hello({ taskTypes: Object.keys(v1.taskDefinitions) })).kind).toBe('welcome');
    const target = { hostId: agent.hostId };
    const show = () => expectStatus(routes().hosts[':id'].maintenance.$get({ param: { id: agent.hostId } }), 200);
    expect(await show()).toMatchObject({ updates: null, scan: null, keycloakVersion: null, logs: null });

    const now = Date.now();
    const newer = updates(new Date(now).toISOString(), 2);
    const taskId = await answer(agent, { type: 'maintenance.updates', target }, newer);
    await answer(agent, { type: 'maintenance.updates', target }, updates(new Date(now - 60_000).toISOString(), 0));
    await answer(
      agent,
      { type: 'maintenance.keycloak-version', target, params: { allowed: ['26.4.x'] } },
      {
        checkedAt: new Date(now).toISOString(),
        version: '26.3.1',
        allowed: ['26.4.x'],
        status: 'not-allowed',
      },
    );
    const body = await show();
    expect(body.updates).toEqual({ taskId, report: newer });
    expect(body.keycloakVersion?.report).toMatchObject({ version: '26.3.1', status: 'not-allowed' });

    const listed = (await expectStatus(routes().maintenance.hosts.$get({ query: {} }), 200)).items.find((h) => h.hostId === agent.hostId);
    expect(listed).toMatchObject({
      upgradable: 3,
      security: 2,
      rebootRequired: true,
      scanScore: null,
      lynisIndex: null,
      keycloakVersion: '26.3.1',
      versionStatus: 'not-allowed',
      logsRotatedAt: null,
    });
    await expectStatus(routes().hosts[':id'].maintenance.$get({ param: { id: 'h_nope' } }), 404);
  });
});
