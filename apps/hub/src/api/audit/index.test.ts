import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

describe.each(testBackends)('/v1/audit (%s)', (backend) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records every mutating call (ok, denied, error, unauthenticated, unknown route) and never reads', async () => {
    const viewer = await t.tokenFor('viewer');
    const create = (token?: string) => t.api(token).v1['api-tokens'].$post({ json: { name: 'n', role: 'viewer' } });
    await expectStatus(create(t.adminToken), 201);
    await expectStatus(create(viewer), 403);
    await expectStatus(create(), 401);
    expect((await t.raw('POST', '/v1/api-tokens', { token: t.adminToken, body: '{' })).status).toBe(400);
    expect((await t.raw('PUT', '/v1/nothing-here', { token: t.adminToken, body: {} })).status).toBe(404);
    await expectStatus(t.api(t.adminToken).v1['api-tokens'].$get(), 200);

    const { items } = await expectStatus(t.api(viewer).v1.audit.$get({ query: {} }), 200);
    expect(items.map((r) => [r.action, r.outcome, r.actor.split(' ')[0]])).toEqual([
      ['PUT /v1/nothing-here', 'error', 'anonymous'],
      ['api-tokens.create', 'error', 'initial-admin'],
      ['api-tokens.create', 'denied', 'anonymous'],
      ['api-tokens.create', 'denied', 'test-viewer'],
      ['api-tokens.create', 'ok', 'initial-admin'],
    ]);
    expect(items[1]!.detail).toMatchObject({ status: 400, error: 'Malformed JSON in request body' });
    expect(items[2]!.detail).toMatchObject({ status: 401 });
  });

  it('filters by action and limits', async () => {
    const { items } = await expectStatus(t.api(t.adminToken).v1.audit.$get({ query: { action: 'api-tokens.create', limit: '2' } }), 200);
    expect(items).toHaveLength(2);
    expect(items.every((r) => r.action === 'api-tokens.create')).toBe(true);
    expect((await t.api(t.adminToken).v1.audit.$get({ query: { limit: '0' } })).status).toBe(400);
    expect((await t.api().v1.audit.$get({ query: {} })).status).toBe(401);
  });
});
