import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

describe('/v1/api-tokens and authorization', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 401 without a token and with a bad or unknown one', async () => {
    const none = await t.call('GET', '/v1/api-tokens');
    expect(none.status).toBe(401);
    expect(none.json.error).toMatch(/missing API token/);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');

    for (const token of ['nonsense', 'kf_unknown']) {
      const res = await t.call('GET', '/v1/api-tokens', { token });
      expect(res.status).toBe(401);
      expect(res.json.error).toBe('invalid or revoked API token');
    }
  });

  it('creates a token shown once, stores only its hash, and lists it without the secret', async () => {
    const res = await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: 'ci-bot', role: 'operator' } });
    expect(res.status).toBe(201);
    const created = res.json;
    expect(created).toMatchObject({ name: 'ci-bot', role: 'operator', revokedAt: null });
    expect(created.token).toMatch(/^kf_[A-Za-z0-9_-]{43}$/);

    const stored = await t.db.selectFrom('api_tokens').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(created.token);

    const list = (await t.call('GET', '/v1/api-tokens', { token: t.adminToken })).json;
    expect(list.items.map((i: { name: string }) => i.name)).toContain('ci-bot');
    expect(JSON.stringify(list)).not.toContain(created.token);

    // The new token works with its role.
    expect((await t.call('GET', '/v1/api-tokens', { token: created.token })).status).toBe(403);
  });

  it('refuses lower roles with 403 and a clear message, and audits the refusal', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const token = await t.tokenFor(role);
      const res = await t.call('POST', '/v1/api-tokens', { token, body: { name: 'x', role: 'admin' } });
      expect(res.status).toBe(403);
      expect(res.json.error).toBe(`forbidden: api-tokens.create needs role admin or higher; token "test-${role}" has role ${role}`);
    }
    const denied = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'api-tokens.create').where('outcome', '=', 'denied').execute();
    expect(denied.map((r) => r.actor)).toEqual([expect.stringMatching(/^test-viewer \(tok_/), expect.stringMatching(/^test-operator \(tok_/)]);
  });

  it('rejects malformed JSON and invalid bodies with 400 naming the field', async () => {
    const bad = await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: '{"name":' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'Malformed JSON in request body' });

    const invalid = await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: 'x', role: 'root' } });
    expect(invalid.status).toBe(400);
    const body = invalid.json;
    expect(body.error).toMatch(/^invalid body: role: /);
    expect(body.details[0].path).toEqual(['role']);
  });

  it('revokes a token, which then stops working, and audits it with no secret', async () => {
    const { id, token } = (await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: 'temp', role: 'viewer' } })).json;
    expect((await t.call('GET', '/v1/audit', { token })).status).not.toBe(401);
    const res = await t.call('DELETE', `/v1/api-tokens/${id}`, { token: t.adminToken });
    expect(res.status).toBe(200);
    expect(res.json.revokedAt).not.toBeNull();
    expect((await t.call('GET', '/v1/hosts', { token })).status).toBe(401);
    expect((await t.call('DELETE', `/v1/api-tokens/${id}`, { token: t.adminToken })).status).toBe(409);
    expect((await t.call('DELETE', '/v1/api-tokens/tok_nope', { token: t.adminToken })).status).toBe(404);

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
    const res = await t.call('DELETE', `/v1/api-tokens/${admins[0]!.id}`, { token: t.adminToken });
    expect(res.status).toBe(409);
    expect(res.json.error).toMatch(/last admin token/);
  });

  it('refuses to revoke the token making the request, which another admin token can revoke', async () => {
    const second = await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: 'second-admin', role: 'admin' } });
    const self = await t.call('DELETE', `/v1/api-tokens/${second.json.id}`, { token: second.json.token });
    expect(self.status).toBe(409);
    expect(self.json.error).toBe(`API token ${second.json.id} is the one making this request; revoke it with another admin token`);
    expect((await t.call('DELETE', `/v1/api-tokens/${second.json.id}`, { token: t.adminToken })).status).toBe(200);
  });

  it('refuses a blank name, as its documented pattern says, and trims the name it stores', async () => {
    expect((await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: '   ', role: 'viewer' } })).status).toBe(400);
    const padded = await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: ' ro ', role: 'viewer' } });
    expect(padded.json.name).toBe('ro');
  });
});
