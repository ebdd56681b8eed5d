import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

describe.each(testBackends)('/v1/enrollment-tokens (%s)', (backend) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const tokens = (token = t.adminToken) => t.api(token).v1['enrollment-tokens'];

  it('creates a kfe_ token with default 1h TTL, shown once and stored hashed', async () => {
    const before = Date.now();
    const created = await expectStatus(tokens().$post({ json: { labels: { env: 'prod' } } }), 201);
    expect(created).toMatchObject({ labels: { env: 'prod' }, status: 'active', usedAt: null, revokedAt: null });
    expect(created.token).toMatch(/^kfe_[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(created.expiresAt) - before;
    expect(ttl).toBeGreaterThan(3590_000);
    expect(ttl).toBeLessThan(3610_000);

    const row = await t.db.selectFrom('enrollment_tokens').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(created.token);

    const list = await tokens().$get();
    const text = await list.text();
    expect((JSON.parse(text) as { items: { id: string }[] }).items.map((i) => i.id)).toContain(created.id);
    expect(text).not.toContain(created.token);
    expect(text).not.toContain('"token"');
  });

  it('limits the TTL to 30 days and validates labels', async () => {
    const long = await expectStatus(tokens().$post({ json: { ttlSeconds: 31 * 86400 } }), 400);
    expect(long.error).toMatch(/^invalid body: ttlSeconds: /);
    const badLabel = await expectStatus(tokens().$post({ json: { labels: { 'bad key': 'x' } } }), 400);
    expect(badLabel.error).toMatch(/labels/);
  });

  it('is admin only, for reading too', async () => {
    const operator = await t.tokenFor('operator');
    expect((await tokens(operator).$get()).status).toBe(403);
    expect((await tokens(operator).$post({ json: {} })).status).toBe(403);
  });

  it('revokes an unused token once; unknown ids are 404', async () => {
    const { id } = await expectStatus(tokens().$post({ json: {} }), 201);
    const revoke = (id: string) => tokens()[':id'].$delete({ param: { id } });
    expect((await expectStatus(revoke(id), 200)).status).toBe('revoked');
    expect((await expectStatus(revoke(id), 409)).error).toBe(`enrollment token ${id} is already revoked`);
    expect((await revoke('enr_missing')).status).toBe(404);

    const audit = await t.db.selectFrom('audit_log').select(['action', 'outcome']).where('target', '=', id).orderBy('id').execute();
    expect(audit).toEqual([
      { action: 'enrollment-tokens.create', outcome: 'ok' },
      { action: 'enrollment-tokens.revoke', outcome: 'ok' },
      { action: 'enrollment-tokens.revoke', outcome: 'error' },
    ]);
  });
});
