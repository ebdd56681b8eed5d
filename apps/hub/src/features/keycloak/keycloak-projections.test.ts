import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '../../testing/fake-agent.js';
import { fleetApi, type FleetApi } from '../../testing/fleet-api.js';
import { startTestFleet, waitFor, type TestFleet, type TestHub } from '../../testing/test-fleet.js';

let fleet: TestFleet;
let hub: TestHub;
let api: FleetApi;

beforeAll(async () => {
  fleet = await startTestFleet();
  hub = await fleet.startHub();
  api = await fleetApi(fleet, hub.dispatcher);
  await fleet.secrets.put('kc-admin', 'kc-admin-password-4410', 'test');
  await fleet.secrets.put('web-secret', 'web-client-secret-8832', 'test');
});
afterAll(async () => {
  await fleet?.stop();
});

const instance = { runtime: 'process', version: '26.4.7', ready: true, baseUrl: 'http://127.0.0.1:8080', managementUrl: 'http://127.0.0.1:9000' };
const report = (ok: boolean, checkedAt = new Date().toISOString()) => ({
  ok,
  checkedAt,
  checks: [
    { name: 'health', ok: true, detail: 'UP', ms: 12 },
    { name: 'login', ok, detail: ok ? 'client_credentials token issued' : 'invalid_client', ms: 40 },
  ],
});
const config = {
  version: '26.4.7',
  runtime: 'process',
  database: { kind: 'dev-file' },
  hostname: 'http://127.0.0.1:8080',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
};

async function onlineAgent(): Promise<FakeAgent> {
  const agent = await fleet.agent(await fleet.addHost());
  expect((await agent.hello({ taskTypes: Object.keys(v1.taskDefinitions) })).kind).toBe('welcome');
  return agent;
}

/** Queues a task through the API and waits until the agent has it. */
async function run(agent: FakeAgent, type: string, params: unknown = {}): Promise<string> {
  const res = await api.call('POST', '/v1/tasks', { type, target: { hostId: agent.hostId }, params });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  const taskId: string = res.json.tasks[0].id;
  await waitFor(() => agent.tasks.some((t) => t.taskId === taskId), `${type} delivered`);
  return taskId;
}

const host = async (agent: FakeAgent) => (await api.call('GET', `/v1/hosts/${agent.hostId}/keycloak`)).json;

describe('host Keycloak record', () => {
  it('shows what install reported: version, runtime, readiness, realms and the verification', async () => {
    const agent = await onlineAgent();
    const taskId = await run(agent, 'keycloak.install', config);
    const finishedAt = new Date().toISOString();
    const verify = report(true);
    const output = { changed: true, instance: { ...instance, realms: ['master'], uptimeSec: 3 }, steps: ['download', 'build', 'start'], verify };
    expect((await agent.result(taskId, 'succeeded', { output, finishedAt })).kind).toBe('ack');

    const h = await host(agent);
    expect(h.keycloak).toEqual({
      installed: true,
      version: '26.4.7',
      runtime: 'process',
      ready: true,
      baseUrl: 'http://127.0.0.1:8080',
      realms: ['master'],
      uptimeSec: 3,
      updatedAt: finishedAt,
      taskId,
    });
    expect(h.lastVerification).toEqual({ ...verify, taskId });
    const listed = (await api.call('GET', '/v1/keycloak/hosts')).json.items.find((x: { hostId: string }) => x.hostId === agent.hostId);
    expect(listed).toMatchObject({ keycloak: h.keycloak, lastVerification: h.lastVerification });
  });

  it('keeps the realms across a stop, records not-installed, and never lets an older report overwrite a newer one', async () => {
    const agent = await onlineAgent();
    const status = await run(agent, 'keycloak.status');
    await agent.result(status, 'succeeded', { output: { installed: true, instance: { ...instance, realms: ['master', 'demo'] } } });
    const stop = await run(agent, 'keycloak.stop');
    const stoppedAt = new Date().toISOString();
    await agent.result(stop, 'succeeded', { output: { changed: true, instance: { ...instance, ready: false } }, finishedAt: stoppedAt });
    expect((await host(agent)).keycloak).toMatchObject({ ready: false, realms: ['master', 'demo'], taskId: stop, updatedAt: stoppedAt });

    // A status that finished before the stop, arriving only now (agent re-sent it after a restart).
    const late = await run(agent, 'keycloak.status');
    await agent.result(late, 'succeeded', { output: { installed: true, instance }, finishedAt: new Date(Date.parse(stoppedAt) - 60_000).toISOString() });
    expect((await fleet.task(late)).state).toBe('succeeded');
    expect((await host(agent)).keycloak).toMatchObject({ ready: false, taskId: stop });

    const gone = await run(agent, 'keycloak.status');
    await agent.result(gone, 'succeeded', { output: { installed: false } });
    expect((await host(agent)).keycloak).toEqual({ installed: false, updatedAt: expect.any(String), taskId: gone });
  });

  it('records a failed verify with the agent’s error, and its checks when the failed result carries them', async () => {
    const agent = await onlineAgent();
    const first = await run(agent, 'keycloak.verify');
    const finishedAt = new Date().toISOString();
    await agent.result(first, 'failed', { error: { code: 'handler_error', message: 'health: connection refused on 127.0.0.1:9000' }, finishedAt });
    expect((await host(agent)).lastVerification).toEqual({
      ok: false,
      checkedAt: finishedAt,
      checks: [],
      error: 'health: connection refused on 127.0.0.1:9000',
      taskId: first,
    });

    const second = await run(agent, 'keycloak.verify');
    const failed = report(false);
    await agent.result(second, 'failed', { error: { code: 'handler_error', message: 'login: invalid_client' }, output: failed });
    expect((await host(agent)).lastVerification).toEqual({
      ok: false,
      checkedAt: failed.checkedAt,
      checks: failed.checks,
      error: 'login: invalid_client',
      taskId: second,
    });

    const third = await run(agent, 'keycloak.verify');
    const passed = report(true);
    await agent.result(third, 'succeeded', { output: passed });
    expect((await host(agent)).lastVerification).toEqual({ ...passed, taskId: third });
  });

  it('stores a result whose output does not match the declaration, without touching the host record', async () => {
    const agent = await onlineAgent();
    const taskId = await run(agent, 'keycloak.status');
    expect((await agent.result(taskId, 'succeeded', { output: { installed: 'maybe' } })).kind).toBe('ack');
    expect((await fleet.task(taskId)).state).toBe('succeeded');
    expect((await host(agent)).keycloak).toBeNull();
    expect(fleet.logs.some((l) => l.msg === 'task output does not match its declaration; read models not updated from it' && l.taskId === taskId)).toBe(true);
  });
});

describe('realm spec history', () => {
  it('stores each successful apply as the next version with who and what changed; rollback re-applies one', async () => {
    const agent = await onlineAgent();
    const spec1 = { realm: 'demo', clients: [{ clientId: 'web', redirectUris: ['https://a.example/*'], secret: { $secret: 'web-secret' } }] };
    const spec2 = { ...spec1, displayName: 'Demo' };
    const changes1 = [{ resource: 'client', id: 'web', action: 'create' }];
    const changes2 = [{ resource: 'realm', id: 'demo', action: 'update', fields: [{ path: 'displayName', from: null, to: 'Demo' }] }];

    const apply1 = await run(agent, 'keycloak.realm.apply', { spec: spec1 });
    await agent.result(apply1, 'succeeded', { output: { realm: 'demo', inSync: false, changes: changes1 } });
    const failed = await run(agent, 'keycloak.realm.apply', { spec: { realm: 'demo', displayName: 'broken' } });
    await agent.result(failed, 'failed', { error: { code: 'handler_error', message: 'admin API said 500' } });
    const apply2 = await run(agent, 'keycloak.realm.apply', { spec: spec2 });
    await agent.result(apply2, 'succeeded', { output: { realm: 'demo', inSync: false, changes: changes2 } });

    const history = (await api.call('GET', `/v1/hosts/${agent.hostId}/realms/demo/history`)).json.items;
    expect(history.map((v: { version: number; taskId: string }) => [v.version, v.taskId])).toEqual([
      [2, apply2],
      [1, apply1],
    ]);
    expect(history[1]).toMatchObject({
      spec: { realm: 'demo', clients: [{ clientId: 'web', secret: { $secret: 'web-secret' } }] },
      changes: changes1,
      appliedBy: expect.stringMatching(/^initial-admin/),
    });
    expect(history[0].changes).toEqual(changes2);
    expect(JSON.stringify(history)).not.toContain('web-client-secret');

    const rollback = await api.call('POST', `/v1/hosts/${agent.hostId}/realms/demo/rollback`, { version: 1 });
    expect(rollback.status).toBe(201);
    const rollbackId: string = rollback.json.tasks[0].id;
    const sent = await waitFor(() => agent.tasks.find((t) => t.taskId === rollbackId), 'rollback delivered');
    expect(sent.type).toBe('keycloak.realm.apply');
    expect((sent.params as { spec: { displayName?: string; clients: Array<{ secret: unknown }> } }).spec.displayName).toBeUndefined();
    // The agent gets the secret value; the stored spec never had it.
    expect((sent.params as { spec: { clients: Array<{ secret: unknown }> } }).spec.clients[0]!.secret).toEqual({
      $secret: 'web-secret',
      value: 'web-client-secret-8832',
    });
    await agent.result(rollbackId, 'succeeded', {
      output: {
        realm: 'demo',
        inSync: false,
        changes: [{ resource: 'realm', id: 'demo', action: 'update', fields: [{ path: 'displayName', from: 'Demo', to: null }] }],
      },
    });
    const after = (await api.call('GET', `/v1/hosts/${agent.hostId}/realms/demo/history`)).json.items;
    expect(after[0]).toMatchObject({ version: 3, taskId: rollbackId, spec: history[1].spec });
  });
});
