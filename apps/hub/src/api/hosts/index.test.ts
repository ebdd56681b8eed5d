import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRevoker } from '../../auth/credential-revoker.js';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

describe.each(testBackends)('/v1/hosts (%s)', (backend) => {
  let t: TestContext;
  let viewer: string;
  let operator: string;
  let a: string;
  let b: string;
  beforeAll(async () => {
    t = await createTestContext(backend);
    viewer = await t.tokenFor('viewer');
    operator = await t.tokenFor('operator');
    a = await t.addHost({ hostname: 'a', labels: { env: 'prod', region: 'eu' }, taskTypes: ['noop'] });
    b = await t.addHost({ hostname: 'b', labels: { env: 'prod', region: 'us' }, status: 'offline' });
    await t.addHost({ hostname: 'c', labels: { env: 'dev' }, status: 'pending' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const names = async (query: { selector?: string; status?: 'pending' | 'online' | 'offline' }) =>
    (await expectStatus(t.api(viewer).v1.hosts.$get({ query }), 200)).items.map((h) => h.hostname);

  it('lists hosts filtered by label selector and status', async () => {
    expect(await names({})).toEqual(['a', 'b', 'c']);
    expect(await names({ selector: 'env=prod' })).toEqual(['a', 'b']);
    expect(await names({ selector: 'env=prod,region=us' })).toEqual(['b']);
    expect(await names({ status: 'pending' })).toEqual(['c']);
    const bad = await expectStatus(t.api(viewer).v1.hosts.$get({ query: { selector: 'env' } }), 400);
    expect(bad.error).toMatch(/^invalid query: selector: a selector is key=value/);
    // A status the API does not know is what only a raw request can send.
    const unknown = await t.raw('GET', '/v1/hosts?status=gone', { token: viewer });
    expect(unknown.json).toMatchObject({ error: expect.stringMatching(/^invalid query: status: /) });
  });

  it('shows one host with versions, task types and its last heartbeat', async () => {
    const host = await expectStatus(t.api(viewer).v1.hosts[':id'].$get({ param: { id: a } }), 200);
    expect(host).toMatchObject({
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
    expect(host).not.toHaveProperty('nkey_public');
    // The core knows nothing of Keycloak: the keycloak feature serves that (GET /v1/hosts/{id}/keycloak).
    expect(host).not.toHaveProperty('keycloak');
    expect((await t.api(viewer).v1.hosts[':id'].$get({ param: { id: 'h_nope' } })).status).toBe(404);
  });

  it('decommissions a host (admin only): cancels its live tasks and deletes it with its tasks', async () => {
    const { tasks } = await expectStatus(t.api(operator).v1.tasks.$post({ json: { type: 'noop', target: { hostId: b } } }), 201);
    const taskId = tasks[0]!.id;
    await t.db.updateTable('tasks').set({ state: 'running' }).where('id', '=', taskId).execute();

    expect((await t.api(operator).v1.hosts[':id'].$delete({ param: { id: b } })).status).toBe(403);

    const res = await expectStatus(t.api(t.adminToken).v1.hosts[':id'].$delete({ param: { id: b } }), 200);
    expect(res).toEqual({ id: b, hostname: 'b', deletedTasks: 1, credentialRevokedAt: expect.any(String), revocationEnforced: true });
    expect(t.dispatcher.cancels.at(-1)).toEqual({ taskIds: [taskId], reason: 'host decommissioned' });
    // Its NATS credential is revoked with the deletion and outlives the host row.
    expect(await CredentialRevoker.find(t.db, b)).toEqual({ reason: 'decommissioned', revokedAt: new Date(res.credentialRevokedAt) });
    expect(await t.db.selectFrom('hosts').select('id').where('id', '=', b).execute()).toEqual([]);
    expect(await t.db.selectFrom('task_events').select('id').where('task_id', '=', taskId).execute()).toEqual([]);
    expect((await t.api(t.adminToken).v1.hosts[':id'].$delete({ param: { id: b } })).status).toBe(404);

    const audit = await t.db.selectFrom('audit_log').select(['outcome', 'detail']).where('action', '=', 'hosts.decommission').orderBy('id').execute();
    expect(audit.map((r) => r.outcome)).toEqual(['denied', 'ok', 'error']);
    expect(audit[1]!.detail).toMatchObject({ hostname: 'b', deletedTasks: 1, revocationEnforced: true });
  });

  it("revokes a host's credential (admin only), idempotently, and says when NATS does not enforce it yet", async () => {
    const c = await t.addHost({ hostname: 'c' });
    const revoke = (token: string, id: string) => t.api(token).v1.hosts[':id'].revoke.$post({ param: { id } });
    expect((await revoke(operator, c)).status).toBe(403);
    expect((await revoke(t.adminToken, 'h_nope')).status).toBe(404);

    const before = t.revoker.publishes;
    const first = await expectStatus(revoke(t.adminToken, c), 200);
    expect(first).toEqual({ id: c, hostname: 'c', credentialRevokedAt: expect.any(String), revocationEnforced: true });
    expect(t.revoker.publishes).toBe(before + 1);
    // The host and its history stay.
    expect((await t.api(t.adminToken).v1.hosts[':id'].$get({ param: { id: c } })).status).toBe(200);

    t.revoker.enforced = false;
    try {
      expect(await expectStatus(revoke(t.adminToken, c), 200)).toEqual({ ...first, revocationEnforced: false });
    } finally {
      t.revoker.enforced = true;
    }
    const audit = await t.db.selectFrom('audit_log').select(['outcome', 'target']).where('action', '=', 'hosts.revoke').orderBy('id').execute();
    expect(audit.map((r) => r.outcome)).toEqual(['denied', 'error', 'ok', 'ok']);
  });
});
