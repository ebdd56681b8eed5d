import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../store/new-id.js';
import { expectStatus } from '../../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../../testing/test-context.js';
import { testBackends } from '../../../testing/test-database.js';
import type { KeycloakRoutes } from '../keycloak-routes.js';
import { keycloakDb } from '../keycloak-tables.js';

describe.each(testBackends)('/v1/hosts/{id}/realms/{realm} (%s)', (backend) => {
  let t: TestContext;
  let operator: string;
  let viewer: string;
  let host: string;
  const specV1 = { realm: 'demo', enabled: true, clients: [{ clientId: 'web', redirectUris: ['https://a.example/*'], secret: { $secret: 'web-secret' } }] };
  const specV2 = { ...specV1, displayName: 'Demo' };

  beforeAll(async () => {
    t = await createTestContext(backend);
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

  /** The keycloak feature's routes, typed by their own route type. */
  const realm = (token: string, id: string, name: string) => {
    const routes = t.client.as(token).routes<KeycloakRoutes>('/v1').hosts[':id'].realms[':realm'];
    return {
      history: () => routes.history.$get({ param: { id, realm: name } }),
      rollback: (version: number) => routes.rollback.$post({ param: { id, realm: name }, json: { version } }),
    };
  };

  it('lists applied versions newest first with who, when and what changed; viewers may read', async () => {
    const { items } = await expectStatus(realm(viewer, host, 'demo').history(), 200);
    expect(items.map((v) => v.version)).toEqual([2, 1]);
    expect(items[0]).toEqual({
      version: 2,
      realm: 'demo',
      hostId: host,
      spec: specV2,
      changes: [{ resource: 'realm', id: 'demo', action: 'update', fields: [{ path: 'displayName', from: null, to: 'Demo' }] }],
      taskId: null,
      appliedAt: '2025-01-02T10:00:00.000Z',
      appliedBy: 'alice (tok_1)',
    });
    expect((await expectStatus(realm(viewer, host, 'other').history(), 200)).items).toEqual([]);
    expect((await realm(viewer, 'h_nope', 'demo').history()).status).toBe(404);
    expect((await realm(viewer, host, 'bad name').history()).status).toBe(400);
  });

  it('rolls back by queueing a keycloak.realm.apply of the stored spec on that host, audited', async () => {
    expect((await realm(viewer, host, 'demo').rollback(1)).status).toBe(403);
    const kicks = t.dispatcher.kicks;
    const res = await expectStatus(realm(operator, host, 'demo').rollback(1), 201);
    expect(res.batch).toMatchObject({
      type: 'keycloak.realm.apply',
      target: { kind: 'host', hostId: host },
      createdBy: expect.stringMatching(/^test-operator/),
    });
    expect(res.tasks).toEqual([{ id: expect.any(String), hostId: host, state: 'queued' }]);
    expect(t.dispatcher.kicks).toBe(kicks + 1);
    const task = await t.db.selectFrom('tasks').selectAll().where('id', '=', res.tasks[0]!.id).executeTakeFirstOrThrow();
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
    expect(audit).toMatchObject({ target: res.batch.id, detail: { hostId: host, realm: 'demo', version: 1 } });
  });

  it('refuses a version that does not exist, and a rollback whose secret was deleted since', async () => {
    const rollback = realm(operator, host, 'demo').rollback;
    const missing = await expectStatus(rollback(9), 404);
    expect(missing.error).toBe(`realm demo on host ${host} has no version 9; see GET /v1/hosts/${host}/realms/demo/history`);
    expect((await rollback(0)).status).toBe(400);
    await t.secrets.delete('web-secret');
    const gone = await expectStatus(rollback(2), 404);
    expect(gone.error).toMatch(/^unknown secret "web-secret" \(at params\.spec\.clients\.0\.secret\)/);
  });
});
