import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

describe.each(testBackends)('/v1/api-tokens and authorization (%s)', (backend) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const tokens = (token: string | undefined = t.adminToken) => t.api(token).v1['api-tokens'];
  const create = (json: { name: string; role: 'viewer' | 'operator' | 'admin' }, token?: string) => tokens(token).$post({ json });
  const revoke = (id: string, token?: string) => tokens(token)[':id'].$delete({ param: { id } });

  it('answers 401 without a token and with a bad or unknown one', async () => {
    const none = await t.api().v1['api-tokens'].$get();
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await expectStatus(none, 401)).error).toMatch(/missing API token/);

    for (const token of ['nonsense', 'kf_unknown']) {
      expect((await expectStatus(tokens(token).$get(), 401)).error).toBe('invalid or revoked API token');
    }
  });

  it('creates a token shown once, stores only its hash, and lists it without the secret', async () => {
    const created = await expectStatus(create({ name: 'ci-bot', role: 'operator' }), 201);
    expect(created).toMatchObject({ name: 'ci-bot', role: 'operator', revokedAt: null });
    expect(created.token).toMatch(/^kf_[A-Za-z0-9_-]{43}$/);

    const stored = await t.db.selectFrom('api_tokens').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(created.token);

    const list = await expectStatus(tokens().$get(), 200);
    expect(list.items.map((i) => i.name)).toContain('ci-bot');
    expect(JSON.stringify(list)).not.toContain(created.token);

    // The new token works with its role.
    expect((await tokens(created.token).$get()).status).toBe(403);
  });

  it('refuses lower roles with 403 and a clear message, and audits the refusal', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const token = await t.tokenFor(role);
      const res = await expectStatus(create({ name: 'x', role: 'admin' }, token), 403);
      expect(res.error).toBe(`forbidden: api-tokens.create needs role admin or higher; token "test-${role}" has role ${role}`);
    }
    const denied = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'api-tokens.create').where('outcome', '=', 'denied').execute();
    expect(denied.map((r) => r.actor)).toEqual([expect.stringMatching(/^test-viewer \(tok_/), expect.stringMatching(/^test-operator \(tok_/)]);
  });

  it('rejects malformed JSON and invalid bodies with 400 naming the field', async () => {
    const bad = await t.raw('POST', '/v1/api-tokens', { token: t.adminToken, body: '{"name":' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'Malformed JSON in request body' });

    const invalid = await t.raw('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: 'x', role: 'root' } });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ error: expect.stringMatching(/^invalid body: role: /), details: [{ path: ['role'] }] });
  });

  it('revokes a token, which then stops working, and audits it with no secret', async () => {
    const { id, token } = await expectStatus(create({ name: 'temp', role: 'viewer' }), 201);
    expect((await t.api(token).v1.audit.$get({ query: {} })).status).not.toBe(401);
    expect((await expectStatus(revoke(id), 200)).revokedAt).not.toBeNull();
    expect((await t.api(token).v1.hosts.$get({ query: {} })).status).toBe(401);
    expect((await revoke(id)).status).toBe(409);
    expect((await revoke('tok_nope')).status).toBe(404);

    const rows = await t.db.selectFrom('audit_log').selectAll().where('target', '=', id).orderBy('id').execute();
    expect(rows.map((r) => [r.action, r.outcome])).toEqual([
      ['api-tokens.create', 'ok'],
      ['api-tokens.revoke', 'ok'],
      ['api-tokens.revoke', 'error'],
    ]);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('refuses to revoke the last admin token', async () => {
    const admins = await t.db.selectFrom('api_tokens').select('id').where('role', '=', 'admin').where('revoked_at', 'is', null).execute();
    expect(admins).toHaveLength(1);
    expect((await expectStatus(revoke(admins[0]!.id), 409)).error).toMatch(/last admin token/);
  });

  it('refuses to revoke the token making the request, which another admin token can revoke', async () => {
    const second = await expectStatus(create({ name: 'second-admin', role: 'admin' }), 201);
    const self = await expectStatus(revoke(second.id, second.token), 409);
    expect(self.error).toBe(`API token ${second.id} is the one making this request; revoke it with another admin token`);
    expect((await revoke(second.id)).status).toBe(200);
  });

  it('refuses a blank name, as its documented pattern says, and trims the name it stores', async () => {
    expect((await create({ name: '   ', role: 'viewer' })).status).toBe(400);
    expect((await expectStatus(create({ name: ' ro ', role: 'viewer' }), 201)).name).toBe('ro');
  });
});
