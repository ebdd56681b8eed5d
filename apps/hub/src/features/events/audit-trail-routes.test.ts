import type { KeycloakEvent } from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';
import type { AuditTrailRoutes } from './audit-trail-routes.js';
import { pruneEvents } from './events-retention.js';
import { storeKeycloakEvents } from './store-keycloak-events.js';

const ago = (sec: number) => new Date(Date.now() - sec * 1000).toISOString();

describe.each(testBackends)('the joined audit trail (%s)', (backend) => {
  let t: TestContext;
  let web1: string;
  let web2: string;
  const trail = (query: Record<string, string>, token = t.adminToken) => t.client.as(token).routes<AuditTrailRoutes>('/v1').audit.trail.$get({ query });

  const failedLogin: KeycloakEvent = {
    source: 'login',
    id: 'ev-login-1',
    realm: 'shop',
    at: ago(30),
    type: 'LOGIN_ERROR',
    actor: 'mallory',
    clientId: 'web',
    ip: '10.0.0.9',
    error: 'invalid_user_credentials',
    details: { auth_method: 'openid-connect' },
  };
  const userCreated: KeycloakEvent = {
    source: 'admin',
    id: 'ev-admin-1',
    realm: 'shop',
    at: ago(20),
    type: 'CREATE USER',
    actor: 'admin@master',
    clientId: 'security-admin-console',
    resource: 'users/42',
  };

  beforeAll(async () => {
    t = await createTestContext(backend);
    web1 = await t.addHost({ hostname: 'web-1', taskTypes: ['noop'] });
    web2 = await t.addHost({ hostname: 'web-2' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores each Keycloak event once, and none of a host it does not know', async () => {
    expect(await storeKeycloakEvents(t.db, web1, [failedLogin, userCreated])).toBe(2);
    // The agent sends a batch again when it missed the hub's reply.
    expect(await storeKeycloakEvents(t.db, web1, [failedLogin, userCreated])).toBe(0);
    expect(await storeKeycloakEvents(t.db, web2, [{ ...failedLogin, actor: 'bob', realm: 'other', at: ago(10) }])).toBe(1);
    expect(await storeKeycloakEvents(t.db, 'h_gone', [{ ...failedLogin, id: 'ev-x' }])).toBe(0);
  });

  it('joins hub calls, task runs and Keycloak events newest first, filtered by host, realm, kind, actor and age', async () => {
    const created = await expectStatus(t.api(t.adminToken).v1.tasks.$post({ json: { type: 'noop', target: { hostId: web1 } } }), 201);
    const taskId = created.tasks[0]!.id;
    await t.db.updateTable('tasks').set({ state: 'succeeded', finished_at: new Date() }).where('id', '=', taskId).execute();

    const all = await expectStatus(trail({}), 200);
    expect(all.items.map((e) => e.at)).toEqual([...all.items.map((e) => e.at)].sort().reverse());
    expect(all.items.map((e) => e.kind)).toEqual(expect.arrayContaining(['api', 'task', 'admin', 'login']));

    const web1Items = (await expectStatus(trail({ host: 'web-1' }), 200)).items;
    expect(web1Items.map((e) => [e.kind, e.action, e.hostname])).toEqual([
      ['task', 'noop', 'web-1'],
      ['admin', 'CREATE USER', 'web-1'],
      ['login', 'LOGIN_ERROR', 'web-1'],
    ]);
    expect(web1Items[0]).toMatchObject({ target: taskId, outcome: 'ok', actor: expect.stringContaining('initial-admin') });
    expect(web1Items[1]).toMatchObject({
      realm: 'shop',
      actor: 'admin@master',
      target: 'users/42',
      outcome: 'ok',
      detail: { client: 'security-admin-console' },
    });
    expect(web1Items[2]).toMatchObject({
      realm: 'shop',
      actor: 'mallory',
      outcome: 'denied',
      detail: { error: 'invalid_user_credentials', ip: '10.0.0.9', auth_method: 'openid-connect' },
    });

    const byId = (await expectStatus(trail({ host: web2, kind: 'login' }), 200)).items;
    expect(byId.map((e) => [e.actor, e.realm])).toEqual([['bob', 'other']]);
    expect((await expectStatus(trail({ realm: 'shop', kind: 'admin,login' }), 200)).items).toHaveLength(2);
    expect((await expectStatus(trail({ actor: 'MALL' }), 200)).items.map((e) => e.actor)).toEqual(['mallory']);
    // A % in the actor is a character, not a wildcard.
    expect((await expectStatus(trail({ actor: '%' }), 200)).items).toEqual([]);
    expect((await expectStatus(trail({ kind: 'api' }), 200)).items.map((e) => e.action)).toContain('tasks.create');
    expect((await expectStatus(trail({ since: '15s', kind: 'admin,login' }), 200)).items.map((e) => e.actor)).toEqual(['bob']);
    expect((await expectStatus(trail({ limit: '1' }), 200)).items).toHaveLength(1);
  });

  it('refuses bad filters and unknown hosts; a viewer may read, nobody without a token', async () => {
    expect((await expectStatus(trail({ kind: 'api,ssh' }), 400)).error).toContain('kind');
    expect((await expectStatus(trail({ since: 'yesterday' }), 400)).error).toContain('since');
    expect((await expectStatus(trail({ host: 'nope' }), 404)).error).toContain('nope');
    await expectStatus(trail({}, await t.tokenFor('viewer')), 200);
    expect((await t.raw('GET', '/v1/audit/trail')).status).toBe(401);
  });

  it('retention deletes events past their age in batches, and nothing younger', async () => {
    await storeKeycloakEvents(t.db, web2, [
      { ...failedLogin, id: 'old-1', at: ago(3 * 86_400) },
      { ...failedLogin, id: 'old-2', at: ago(3 * 86_400) },
      { ...failedLogin, id: 'old-3', at: ago(3 * 86_400) },
    ]);
    expect(await pruneEvents(t.db, 86_400, 2)).toBe(3);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM keycloak_events`.execute(t.db);
    expect(rows[0]!.n).toBe(3);
  });
});
