import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

describe('/v1/audit', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records every mutating call (ok, denied, error, unauthenticated, unknown route) and never reads', async () => {
    const viewer = await t.tokenFor('viewer');
    await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: { name: 'n1', role: 'viewer' } });
    await t.call('POST', '/v1/api-tokens', { token: viewer, body: { name: 'n2', role: 'viewer' } });
    await t.call('POST', '/v1/api-tokens', { body: { name: 'n3', role: 'viewer' } });
    await t.call('POST', '/v1/api-tokens', { token: t.adminToken, body: '{' });
    await t.call('PUT', '/v1/nothing-here', { token: t.adminToken, body: {} });
    await t.call('GET', '/v1/api-tokens', { token: t.adminToken });

    const res = await t.call('GET', '/v1/audit', { token: viewer });
    expect(res.status).toBe(200);
    const rows = res.json.items.map((r: { action: string; outcome: string; actor: string }) => [r.action, r.outcome, r.actor.split(' ')[0]]);
    expect(rows).toEqual([
      ['PUT /v1/nothing-here', 'error', 'anonymous'],
      ['api-tokens.create', 'error', 'initial-admin'],
      ['api-tokens.create', 'denied', 'anonymous'],
      ['api-tokens.create', 'denied', 'test-viewer'],
      ['api-tokens.create', 'ok', 'initial-admin'],
    ]);
    expect(res.json.items[1].detail).toMatchObject({ status: 400, error: 'Malformed JSON in request body' });
    expect(res.json.items[2].detail).toMatchObject({ status: 401 });
  });

  it('filters by action and limits', async () => {
    const res = await t.call('GET', '/v1/audit?action=api-tokens.create&limit=2', { token: t.adminToken });
    expect(res.json.items).toHaveLength(2);
    expect(res.json.items.every((r: { action: string }) => r.action === 'api-tokens.create')).toBe(true);
    expect((await t.call('GET', '/v1/audit?limit=0', { token: t.adminToken })).status).toBe(400);
    expect((await t.call('GET', '/v1/audit')).status).toBe(401);
  });
});
