import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

describe('/v1/enrollment-tokens', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a kfe_ token with default 1h TTL, shown once and stored hashed', async () => {
    const before = Date.now();
    const res = await t.call('POST', '/v1/enrollment-tokens', { token: t.adminToken, body: { labels: { env: 'prod' } } });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ labels: { env: 'prod' }, status: 'active', usedAt: null, revokedAt: null });
    expect(res.json.token).toMatch(/^kfe_[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(res.json.expiresAt) - before;
    expect(ttl).toBeGreaterThan(3590_000);
    expect(ttl).toBeLessThan(3610_000);

    const row = await t.db.selectFrom('enrollment_tokens').selectAll().where('id', '=', res.json.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(res.json.token);

    const list = await t.call('GET', '/v1/enrollment-tokens', { token: t.adminToken });
    expect(list.json.items.map((i: { id: string }) => i.id)).toContain(res.json.id);
    expect(list.text).not.toContain(res.json.token);
    expect(list.text).not.toContain('"token"');
  });

  it('limits the TTL to 30 days and validates labels', async () => {
    const long = await t.call('POST', '/v1/enrollment-tokens', { token: t.adminToken, body: { ttlSeconds: 31 * 86400 } });
    expect(long.status).toBe(400);
    expect(long.json.error).toMatch(/^invalid body: ttlSeconds: /);
    const badLabel = await t.call('POST', '/v1/enrollment-tokens', { token: t.adminToken, body: { labels: { 'bad key': 'x' } } });
    expect(badLabel.status).toBe(400);
    expect(badLabel.json.error).toMatch(/labels/);
  });

  it('is admin only, for reading too', async () => {
    const operator = await t.tokenFor('operator');
    expect((await t.call('GET', '/v1/enrollment-tokens', { token: operator })).status).toBe(403);
    expect((await t.call('POST', '/v1/enrollment-tokens', { token: operator, body: {} })).status).toBe(403);
  });

  it('revokes an unused token once; unknown ids are 404', async () => {
    const { id } = (await t.call('POST', '/v1/enrollment-tokens', { token: t.adminToken, body: {} })).json;
    const res = await t.call('DELETE', `/v1/enrollment-tokens/${id}`, { token: t.adminToken });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('revoked');
    const again = await t.call('DELETE', `/v1/enrollment-tokens/${id}`, { token: t.adminToken });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe(`enrollment token ${id} is already revoked`);
    expect((await t.call('DELETE', '/v1/enrollment-tokens/enr_missing', { token: t.adminToken })).status).toBe(404);

    const audit = await t.db.selectFrom('audit_log').select(['action', 'outcome']).where('target', '=', id).orderBy('id').execute();
    expect(audit).toEqual([
      { action: 'enrollment-tokens.create', outcome: 'ok' },
      { action: 'enrollment-tokens.revoke', outcome: 'ok' },
      { action: 'enrollment-tokens.revoke', outcome: 'error' },
    ]);
  });
});
