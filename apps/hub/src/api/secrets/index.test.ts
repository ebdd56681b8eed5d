import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

const VALUE = 'correct-horse-battery-staple-7741';

describe.each(testBackends)('/v1/secrets and secret references in task params (%s)', (backend) => {
  let t: TestContext;
  let operator: string;
  let host: string;

  beforeAll(async () => {
    t = await createTestContext(backend);
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

  const verify = (clientSecret: { $secret: string }) =>
    t.api(operator).v1.tasks.$post({
      json: {
        type: 'keycloak.verify',
        target: { hostId: host },
        params: { login: { grant: 'client_credentials', realm: 'demo', clientId: 'probe', clientSecret } },
      },
    });
  const put = (name: string, value: string, token = t.adminToken) => t.api(token).v1.secrets[':name'].$put({ param: { name }, json: { value } });
  const remove = (name: string, token = t.adminToken) => t.api(token).v1.secrets[':name'].$delete({ param: { name } });

  it('stores a secret (admin only) and never returns its value', async () => {
    expect((await put('probe-secret', VALUE, operator)).status).toBe(403);

    const created = await expectStatus(put('probe-secret', VALUE), 200);
    expect(created).toMatchObject({ name: 'probe-secret', created: true, updatedBy: expect.stringMatching(/^initial-admin/) });
    const replaced = await expectStatus(put('probe-secret', `${VALUE}-v2`), 200);
    expect(replaced.created).toBe(false);
    await expectStatus(put('probe-secret', VALUE), 200);

    const list = await expectStatus(t.api(operator).v1.secrets.$get(), 200);
    expect(list.items).toEqual([{ name: 'probe-secret', createdAt: expect.any(String), updatedAt: expect.any(String), updatedBy: expect.any(String) }]);
    for (const res of [created, replaced, list]) expect(JSON.stringify(res)).not.toContain('correct-horse');

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
    expect((await expectStatus(put('bad name', 'x'), 400)).error).toMatch(/^invalid path: name: /);
    expect((await expectStatus(put('ok', ''), 400)).error).toMatch(/^invalid body: value: /);
    expect((await t.raw('PUT', '/v1/secrets/ok', { token: t.adminToken, body: { value: 'x', note: 1 } })).status).toBe(400);
  });

  it('keeps only the reference in the stored task params', async () => {
    const res = await expectStatus(verify({ $secret: 'probe-secret' }), 201);
    expect(res.batch.params).toMatchObject({ login: { clientSecret: { $secret: 'probe-secret' } } });
    const row = await t.db.selectFrom('tasks').select('params').where('id', '=', res.tasks[0]!.id).executeTakeFirstOrThrow();
    expect(row.params).toEqual({ login: { grant: 'client_credentials', realm: 'demo', clientId: 'probe', clientSecret: { $secret: 'probe-secret' } } });
  });

  it('refuses a reference to an unknown secret, naming it and where it is', async () => {
    expect(await expectStatus(verify({ $secret: 'no-such-secret' }), 404)).toEqual({
      error: 'unknown secret "no-such-secret" (at params.login.clientSecret); store it first with PUT /v1/secrets/{name}',
      details: { secrets: ['no-such-secret'] },
    });
  });

  it('refuses an inline value, even for a known secret, and keeps it out of the database', async () => {
    // The typed client has no place for a value: only a raw request can send one.
    const res = await t.raw('POST', '/v1/tasks', {
      token: operator,
      body: {
        type: 'keycloak.verify',
        target: { hostId: host },
        params: {
          login: { grant: 'client_credentials', realm: 'demo', clientId: 'probe', clientSecret: { $secret: 'probe-secret', value: 'inline-leak-5512' } },
        },
      },
    });
    expect(res.status).toBe(400);
    const error = 'secret values are never sent in params; store them with PUT /v1/secrets/{name} (at params.login.clientSecret)';
    expect(res.json).toMatchObject({ error });
    expect(res.text).not.toContain('inline-leak');
    const audit = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'tasks.create')
      .where('outcome', '=', 'error')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(audit.detail).toMatchObject({ status: 400, error });
    expect(await dump()).not.toContain('inline-leak');
  });

  it('deletes a secret (admin only); later tasks referring to it are refused', async () => {
    expect((await remove('probe-secret', operator)).status).toBe(403);
    expect(await expectStatus(remove('probe-secret'), 200)).toEqual({ name: 'probe-secret' });
    expect((await remove('probe-secret')).status).toBe(404);
    expect((await expectStatus(t.api(operator).v1.secrets.$get(), 200)).items).toEqual([]);
    expect((await verify({ $secret: 'probe-secret' })).status).toBe(404);
  });
});
