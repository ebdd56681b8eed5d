import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { CredentialRevoker } from '../../auth/credential-revoker.js';

describe('/v1/hosts', () => {
  let t: TestContext;
  let viewer: string;
  let operator: string;
  let a: string;
  let b: string;
  beforeAll(async () => {
    t = await createTestContext();
    viewer = await t.tokenFor('viewer');
    operator = await t.tokenFor('operator');
    a = await t.addHost({ hostname: 'a', labels: { env: 'prod', region: 'eu' }, taskTypes: ['noop'] });
    b = await t.addHost({ hostname: 'b', labels: { env: 'prod', region: 'us' }, status: 'offline' });
    await t.addHost({ hostname: 'c', labels: { env: 'dev' }, status: 'pending' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const names = (items: { hostname: string }[]) => items.map((h) => h.hostname);

  it('lists hosts filtered by label selector and status', async () => {
    expect(names((await t.call('GET', '/v1/hosts', { token: viewer })).json.items)).toEqual(['a', 'b', 'c']);
    expect(names((await t.call('GET', '/v1/hosts?selector=env=prod', { token: viewer })).json.items)).toEqual(['a', 'b']);
    expect(names((await t.call('GET', `/v1/hosts?selector=${encodeURIComponent('env=prod,region=us')}`, { token: viewer })).json.items)).toEqual(['b']);
    expect(names((await t.call('GET', '/v1/hosts?status=pending', { token: viewer })).json.items)).toEqual(['c']);
    const bad = await t.call('GET', '/v1/hosts?selector=env', { token: viewer });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/invalid selector "env"/);
    expect((await t.call('GET', '/v1/hosts?status=gone', { token: viewer })).json.error).toMatch(/^invalid query: status: /);
  });

  it('shows one host with versions, task types and its last heartbeat', async () => {
    const res = await t.call('GET', `/v1/hosts/${a}`, { token: viewer });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: a,
      hostname: 'a',
      labels: { env: 'prod', region: 'eu' },
      status: 'online',
      agentVersion: '0.1.0',
      protoVersion: 'v1',
      taskTypes: ['noop'],
      lastHeartbeat: { uptimeSec: 5 },
      lastHeartbeatAt: null,
    });
    expect(res.json).not.toHaveProperty('nkey_public');
    // The core knows nothing of Keycloak: the keycloak feature serves that (GET /v1/hosts/{id}/keycloak).
    expect(res.json).not.toHaveProperty('keycloak');
    expect((await t.call('GET', '/v1/hosts/h_nope', { token: viewer })).status).toBe(404);
  });

  it('decommissions a host (admin only): cancels its live tasks and deletes it with its tasks', async () => {
    const { tasks } = (await t.call('POST', '/v1/tasks', { token: operator, body: { type: 'noop', target: { hostId: b } } })).json;
    await t.db.updateTable('tasks').set({ state: 'running' }).where('id', '=', tasks[0].id).execute();

    const denied = await t.call('DELETE', `/v1/hosts/${b}`, { token: operator });
    expect(denied.status).toBe(403);

    const res = await t.call('DELETE', `/v1/hosts/${b}`, { token: t.adminToken });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ id: b, hostname: 'b', deletedTasks: 1, credentialRevokedAt: expect.any(String), revocationEnforced: true });
    expect(t.dispatcher.cancels.at(-1)).toEqual({ taskIds: [tasks[0].id], reason: 'host decommissioned' });
    // Its NATS credential is revoked with the deletion and outlives the host row.
    expect(await CredentialRevoker.find(t.db, b)).toEqual({ reason: 'decommissioned', revokedAt: new Date(res.json.credentialRevokedAt) });
    expect(await t.db.selectFrom('hosts').select('id').where('id', '=', b).execute()).toEqual([]);
    expect(await t.db.selectFrom('task_events').select('id').where('task_id', '=', tasks[0].id).execute()).toEqual([]);
    expect((await t.call('DELETE', `/v1/hosts/${b}`, { token: t.adminToken })).status).toBe(404);

    const audit = await t.db.selectFrom('audit_log').select(['outcome', 'detail']).where('action', '=', 'hosts.decommission').orderBy('id').execute();
    expect(audit.map((r) => r.outcome)).toEqual(['denied', 'ok', 'error']);
    expect(audit[1]!.detail).toMatchObject({ hostname: 'b', deletedTasks: 1, revocationEnforced: true });
  });

  it("revokes a host's credential (admin only), idempotently, and says when NATS does not enforce it yet", async () => {
    const c = await t.addHost({ hostname: 'c' });
    expect((await t.call('POST', `/v1/hosts/${c}/revoke`, { token: operator })).status).toBe(403);
    expect((await t.call('POST', '/v1/hosts/h_nope/revoke', { token: t.adminToken })).status).toBe(404);

    const before = t.revoker.publishes;
    const first = await t.call('POST', `/v1/hosts/${c}/revoke`, { token: t.adminToken });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ id: c, hostname: 'c', credentialRevokedAt: expect.any(String), revocationEnforced: true });
    expect(t.revoker.publishes).toBe(before + 1);
    // The host and its history stay.
    expect((await t.call('GET', `/v1/hosts/${c}`, { token: t.adminToken })).status).toBe(200);

    t.revoker.enforced = false;
    try {
      const again = await t.call('POST', `/v1/hosts/${c}/revoke`, { token: t.adminToken });
      expect(again.json).toEqual({ ...first.json, revocationEnforced: false });
    } finally {
      t.revoker.enforced = true;
    }
    const audit = await t.db.selectFrom('audit_log').select(['outcome', 'target']).where('action', '=', 'hosts.revoke').orderBy('id').execute();
    expect(audit.map((r) => r.outcome)).toEqual(['denied', 'error', 'ok', 'ok']);
  });
});
