import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

const VALUE = 'correct-horse-battery-staple-7741';

describe('/v1/secrets and secret references in task params', () => {
  let t: TestContext;
  let operator: string;
  let host: string;

  beforeAll(async () => {
    t = await createTestContext();
    operator = await t.tokenFor('operator');
    host = await t.addHost({ hostname: 'kc-1', taskTypes: ['keycloak.verify', 'keycloak.install'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Everything the database holds, as text: no table may contain the value. */
  const dump = async () => {
    const out: string[] = [];
    for (const table of ['secrets', 'tasks', 'task_batches', 'task_events', 'audit_log']) {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(t.db);
      // Buffers (the sealed values) are searched as raw bytes, not as JSON number lists.
      const bytes = (v: unknown) =>
        v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v;
      out.push(JSON.stringify(rows, (_k, v: unknown) => bytes(v)));
    }
    return out.join('\n');
  };

  const verifyWith = (clientSecret: unknown, token = operator) =>
    t.call('POST', '/v1/tasks', {
      token,
      body: {
        type: 'keycloak.verify',
        target: { hostId: host },
        params: { login: { grant: 'client_credentials', realm: 'demo', clientId: 'probe', clientSecret } },
      },
    });

  it('stores a secret (admin only) and never returns its value', async () => {
    const denied = await t.call('PUT', '/v1/secrets/probe-secret', { token: operator, body: { value: VALUE } });
    expect(denied.status).toBe(403);

    const created = await t.call('PUT', '/v1/secrets/probe-secret', { token: t.adminToken, body: { value: VALUE } });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ name: 'probe-secret', created: true, updatedBy: expect.stringMatching(/^initial-admin/) });
    const replaced = await t.call('PUT', '/v1/secrets/probe-secret', { token: t.adminToken, body: { value: `${VALUE}-v2` } });
    expect(replaced.json.created).toBe(false);
    await t.call('PUT', '/v1/secrets/probe-secret', { token: t.adminToken, body: { value: VALUE } });

    const list = await t.call('GET', '/v1/secrets', { token: operator });
    expect(list.status).toBe(200);
    expect(list.json.items).toEqual([{ name: 'probe-secret', createdAt: expect.any(String), updatedAt: expect.any(String), updatedBy: expect.any(String) }]);
    for (const res of [created, replaced, list]) expect(res.text).not.toContain('correct-horse');

    const revealed = await t.secrets.reveal(['probe-secret']);
    expect(revealed.values.get('probe-secret')).toBe(VALUE);
    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'secrets.put').orderBy('id').execute();
    expect(audit.map((a) => [a.outcome, a.target])).toEqual([
      ['denied', null],
      ['ok', 'probe-secret'],
      ['ok', 'probe-secret'],
      ['ok', 'probe-secret'],
    ]);
    expect(await dump()).not.toContain('correct-horse');
  });

  it('refuses bad names and empty or extra body fields with 400', async () => {
    expect((await t.call('PUT', '/v1/secrets/bad%20name', { token: t.adminToken, body: { value: 'x' } })).json.error).toMatch(/^invalid path: name: /);
    expect((await t.call('PUT', '/v1/secrets/ok', { token: t.adminToken, body: { value: '' } })).json.error).toMatch(/^invalid body: value: /);
    const extra = await t.call('PUT', '/v1/secrets/ok', { token: t.adminToken, body: { value: 'x', note: 1 } });
    expect(extra.status).toBe(400);
  });

  it('keeps only the reference in the stored task params', async () => {
    const res = await verifyWith({ $secret: 'probe-secret' });
    expect(res.status).toBe(201);
    expect(res.json.batch.params.login.clientSecret).toEqual({ $secret: 'probe-secret' });
    const row = await t.db.selectFrom('tasks').select('params').where('id', '=', res.json.tasks[0].id).executeTakeFirstOrThrow();
    expect(row.params).toEqual({ login: { grant: 'client_credentials', realm: 'demo', clientId: 'probe', clientSecret: { $secret: 'probe-secret' } } });
  });

  it('refuses a reference to an unknown secret, naming it and where it is', async () => {
    const res = await verifyWith({ $secret: 'no-such-secret' });
    expect(res.status).toBe(404);
    expect(res.json.error).toBe('unknown secret "no-such-secret" (at params.login.clientSecret); store it first with PUT /v1/secrets/{name}');
    expect(res.json.details).toEqual({ secrets: ['no-such-secret'] });
  });

  it('refuses an inline value, even for a known secret, and keeps it out of the database', async () => {
    const res = await verifyWith({ $secret: 'probe-secret', value: 'inline-leak-5512' });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('secret values are never sent in params; store them with PUT /v1/secrets/{name} (at params.login.clientSecret)');
    expect(res.text).not.toContain('inline-leak');
    const audit = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'tasks.create')
      .where('outcome', '=', 'error')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(audit.detail).toMatchObject({ status: 400, error: res.json.error });
    expect(await dump()).not.toContain('inline-leak');
  });

  it('deletes a secret (admin only); later tasks referring to it are refused', async () => {
    expect((await t.call('DELETE', '/v1/secrets/probe-secret', { token: operator })).status).toBe(403);
    const res = await t.call('DELETE', '/v1/secrets/probe-secret', { token: t.adminToken });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ name: 'probe-secret' });
    expect((await t.call('DELETE', '/v1/secrets/probe-secret', { token: t.adminToken })).status).toBe(404);
    expect((await t.call('GET', '/v1/secrets', { token: operator })).json.items).toEqual([]);
    expect((await verifyWith({ $secret: 'probe-secret' })).status).toBe(400);
  });
});
