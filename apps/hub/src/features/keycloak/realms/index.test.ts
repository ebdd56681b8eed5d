import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../../testing/test-context.js';
import { newId } from '../../../store/new-id.js';
import { keycloakDb } from '../keycloak-tables.js';

describe('/v1/hosts/{id}/realms/{realm}', () => {
  let t: TestContext;
  let operator: string;
  let viewer: string;
  let host: string;
  const specV1 = { realm: 'demo', enabled: true, clients: [{ clientId: 'web', redirectUris: ['https://a.example/*'], secret: { $secret: 'web-secret' } }] };
  const specV2 = { ...specV1, displayName: 'Demo' };

  beforeAll(async () => {
    t = await createTestContext();
    operator = await t.tokenFor('operator');
    viewer = await t.tokenFor('viewer');
    host = await t.addHost({ hostname: 'kc-1', taskTypes: ['keycloak.realm.apply', 'keycloak.realm.plan'] });
    await t.secrets.put('web-secret', 'web-secret-value-0192', 'test');
    const add = (version: number, spec: object, changes: unknown[], at: string) =>
      keycloakDb(t.db)
        .insertInto('realm_specs')
        .values({
          id: newId('rs'),
          host_id: host,
          realm: 'demo',
          version,
          spec: JSON.stringify(spec),
          changes: JSON.stringify(changes),
          task_id: null,
          applied_at: at,
          applied_by: 'alice (tok_1)',
        })
        .execute();
    await add(1, specV1, [{ resource: 'client', id: 'web', action: 'create' }], '2025-01-01T10:00:00.000Z');
    await add(
      2,
      specV2,
      [{ resource: 'realm', id: 'demo', action: 'update', fields: [{ path: 'displayName', from: null, to: 'Demo' }] }],
      '2025-01-02T10:00:00.000Z',
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists applied versions newest first with who, when and what changed; viewers may read', async () => {
    const res = await t.call('GET', `/v1/hosts/${host}/realms/demo/history`, { token: viewer });
    expect(res.status).toBe(200);
    expect(res.json.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(res.json.items[0]).toEqual({
      version: 2,
      realm: 'demo',
      hostId: host,
      spec: specV2,
      changes: [{ resource: 'realm', id: 'demo', action: 'update', fields: [{ path: 'displayName', from: null, to: 'Demo' }] }],
      taskId: null,
      appliedAt: '2025-01-02T10:00:00.000Z',
      appliedBy: 'alice (tok_1)',
    });
    expect((await t.call('GET', `/v1/hosts/${host}/realms/other/history`, { token: viewer })).json.items).toEqual([]);
    expect((await t.call('GET', '/v1/hosts/h_nope/realms/demo/history', { token: viewer })).status).toBe(404);
    expect((await t.call('GET', `/v1/hosts/${host}/realms/bad%20name/history`, { token: viewer })).status).toBe(400);
  });

  it('rolls back by queueing a keycloak.realm.apply of the stored spec on that host, audited', async () => {
    expect((await t.call('POST', `/v1/hosts/${host}/realms/demo/rollback`, { token: viewer, body: { version: 1 } })).status).toBe(403);
    const kicks = t.dispatcher.kicks;
    const res = await t.call('POST', `/v1/hosts/${host}/realms/demo/rollback`, { token: operator, body: { version: 1 } });
    expect(res.status).toBe(201);
    expect(res.json.batch).toMatchObject({
      type: 'keycloak.realm.apply',
      target: { kind: 'host', hostId: host },
      createdBy: expect.stringMatching(/^test-operator/),
    });
    expect(res.json.tasks).toEqual([{ id: expect.any(String), hostId: host, state: 'queued' }]);
    expect(t.dispatcher.kicks).toBe(kicks + 1);
    const task = await t.db.selectFrom('tasks').selectAll().where('id', '=', res.json.tasks[0].id).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ type: 'keycloak.realm.apply', host_id: host, state: 'queued' });
    expect(task.params).toEqual({
      spec: {
        realm: 'demo',
        enabled: true,
        clients: [
          {
            clientId: 'web',
            enabled: true,
            protocol: 'openid-connect',
            publicClient: false,
            secret: { $secret: 'web-secret' },
            redirectUris: ['https://a.example/*'],
            webOrigins: [],
            standardFlowEnabled: true,
            directAccessGrantsEnabled: false,
            serviceAccountsEnabled: false,
          },
        ],
      },
    });
    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'realms.rollback').where('outcome', '=', 'ok').executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ target: res.json.batch.id, detail: { hostId: host, realm: 'demo', version: 1 } });
  });

  it('refuses a version that does not exist, and a rollback whose secret was deleted since', async () => {
    const missing = await t.call('POST', `/v1/hosts/${host}/realms/demo/rollback`, { token: operator, body: { version: 9 } });
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe(`realm demo on host ${host} has no version 9; see GET /v1/hosts/${host}/realms/demo/history`);
    expect((await t.call('POST', `/v1/hosts/${host}/realms/demo/rollback`, { token: operator, body: { version: 0 } })).status).toBe(400);
    await t.secrets.delete('web-secret');
    const gone = await t.call('POST', `/v1/hosts/${host}/realms/demo/rollback`, { token: operator, body: { version: 2 } });
    expect(gone.status).toBe(404);
    expect(gone.json.error).toMatch(/^unknown secret "web-secret" \(at params\.spec\.clients\.0\.secret\)/);
  });
});
