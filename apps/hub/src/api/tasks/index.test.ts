import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse } from '../../testing/parse-sse.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

describe('/v1/tasks', () => {
  let t: TestContext;
  let operator: string;
  let viewer: string;
  let web1: string;
  let web2: string;
  let db1: string;

  beforeAll(async () => {
    t = await createTestContext();
    operator = await t.tokenFor('operator');
    viewer = await t.tokenFor('viewer');
    web1 = await t.addHost({ hostname: 'web-1', labels: { role: 'web', env: 'prod' }, taskTypes: ['noop', 'system.info'] });
    web2 = await t.addHost({ hostname: 'web-2', labels: { role: 'web', env: 'dev' }, status: 'offline' });
    db1 = await t.addHost({ hostname: 'db-1', labels: { role: 'db', env: 'prod' }, taskTypes: ['system.info'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const run = (body: unknown, token = operator) => t.call('POST', '/v1/tasks', { token, body });

  it('documents POST /v1/tasks as a union on type with each declared task’s params', async () => {
    const doc = (await t.call('GET', '/v1/openapi.json')).json;
    const body = doc.paths['/v1/tasks'].post.requestBody.content['application/json'].schema;
    const union = doc.components.schemas[body.$ref.split('/').at(-1)!];
    expect(union.discriminator.propertyName).toBe('type');
    const members = union.oneOf.map((m: { $ref: string }) => doc.components.schemas[m.$ref.split('/').at(-1) as string]);
    expect(members.map((m: { properties: { type: { enum: string[] } } }) => m.properties.type.enum[0])).toEqual(v1.taskDefinitionList.map((d) => d.name));
    const noop = members.find((m: { properties: { type: { enum: string[] } } }) => m.properties.type.enum[0] === 'noop');
    expect(Object.keys(noop.properties.params.properties)).toEqual(['delayMs', 'sizeBytes', 'fail']);
    expect(noop.properties.params.properties.delayMs.type).toBe('integer');
  });

  it('forbids a viewer from running a task, and audits the refusal', async () => {
    const res = await run({ type: 'noop', target: { hostId: web1 } }, viewer);
    expect(res.status).toBe(403);
    expect(res.json.error).toBe('forbidden: tasks.create needs role operator or higher; token "test-viewer" has role viewer');
    const row = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'tasks.create').where('outcome', '=', 'denied').executeTakeFirstOrThrow();
    expect(row.actor).toMatch(/^test-viewer \(tok_/);
  });

  it('queues one task per selected host with a state event each, in one batch, and kicks the dispatcher', async () => {
    const kicks = t.dispatcher.kicks;
    const res = await run({ type: 'noop', target: { selector: 'role=web' }, params: { delayMs: 5 }, expiresInMs: 60_000 });
    expect(res.status).toBe(201);
    const { batch, tasks } = res.json;
    expect(batch).toMatchObject({ type: 'noop', params: { delayMs: 5, sizeBytes: 0 }, target: { kind: 'labels', labels: { role: 'web' } } });
    expect(batch.id).toMatch(/^b_[0-9a-f]{20}$/);
    expect(tasks.map((x: { hostId: string }) => x.hostId).sort()).toEqual([web1, web2].sort());
    expect(tasks.every((x: { id: string; state: string }) => /^t_[0-9a-f]{20}$/.test(x.id) && x.state === 'queued')).toBe(true);
    expect(t.dispatcher.kicks).toBe(kicks + 1);

    const rows = await t.db.selectFrom('tasks').selectAll().where('batch_id', '=', batch.id).execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({
        type: 'noop',
        state: 'queued',
        timeout_ms: 60_000,
        params: { delayMs: 5, sizeBytes: 0 },
        progress: null,
        output: null,
        error: null,
      });
      expect(row.expires_at.getTime() - row.created_at.getTime()).toBeGreaterThan(55_000);
    }
    const events = await t.db.selectFrom('task_events').selectAll().where('batch_id', '=', batch.id).execute();
    expect(events.map((e) => [e.kind, e.data])).toEqual([
      ['state', { state: 'queued' }],
      ['state', { state: 'queued' }],
    ]);

    const audit = await t.db.selectFrom('audit_log').selectAll().where('target', '=', batch.id).executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'tasks.create', outcome: 'ok', detail: { type: 'noop', tasks: 2 } });
  });

  it('refuses unknown task types listing the known ones', async () => {
    const res = await run({ type: 'rm-rf', target: { all: true } });
    expect(res.status).toBe(400);
    const known = Object.keys(v1.taskDefinitions);
    expect(known).toEqual(expect.arrayContaining(['noop', 'system.info', 'keycloak.realm.apply']));
    expect(res.json.error).toBe(`unknown task type "rm-rf"; known types: ${known.join(', ')}`);
    expect(res.json.details.knownTypes).toEqual(known);
  });

  it('validates params with the task’s proto schema, naming the field', async () => {
    const res = await run({ type: 'noop', target: { hostId: web1 }, params: { delayMs: 'soon' } });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/^invalid params for noop: delayMs: /);
    expect(res.json.details[0].path).toEqual(['delayMs']);
    const extra = await run({ type: 'system.info', target: { hostId: db1 }, params: { verbose: true } });
    expect(extra.status).toBe(400);
    expect(extra.json.error).toMatch(/^invalid params for system.info: /);
  });

  it('refuses a bad realm spec with 400 naming the field: unknown field, invalid redirect URI, missing realm', async () => {
    const plan = (spec: unknown) => run({ type: 'keycloak.realm.plan', target: { hostId: web2 }, params: { spec } });
    const unknown = await plan({ realm: 'demo', colour: 'blue' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/^invalid params for keycloak\.realm\.plan: spec: Unrecognized key: "colour"/);
    const redirect = await plan({ realm: 'demo', clients: [{ clientId: 'web', redirectUris: ['https://ok.example/*', 'not a url'] }] });
    expect(redirect.status).toBe(400);
    expect(redirect.json.error).toMatch(/^invalid params for keycloak\.realm\.plan: spec\.clients\.0\.redirectUris\.1: must be an absolute URL/);
    expect(redirect.json.details[0].path).toEqual(['spec', 'clients', 0, 'redirectUris', 1]);
    const missing = await plan({ clients: [] });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatch(/^invalid params for keycloak\.realm\.plan: spec\.realm: /);
    expect(await t.db.selectFrom('tasks').select('id').where('type', '=', 'keycloak.realm.plan').execute()).toEqual([]);
  });

  it('rejects malformed JSON and bad bodies with 400', async () => {
    const bad = await run('{"type": "noop",');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'Malformed JSON in request body' });
    const noTarget = await run({ type: 'noop' });
    expect(noTarget.status).toBe(400);
    expect(noTarget.json.error).toMatch(/^invalid body: target: /);
    const badTimeout = await run({ type: 'noop', target: { all: true }, timeoutMs: -5 });
    expect(badTimeout.json.error).toMatch(/timeoutMs/);
  });

  it('refuses targets matching no host and hosts that did not declare the type', async () => {
    const none = await run({ type: 'noop', target: { selector: 'role=mail' } });
    expect(none.status).toBe(404);
    expect(none.json.error).toBe('selector "role=mail" matches no host');
    const missing = await run({ type: 'noop', target: { hostId: 'h_missing' } });
    expect(missing.json.error).toBe('target host h_missing not found');
    const unable = await run({ type: 'noop', target: { selector: 'env=prod' } });
    expect(unable.status).toBe(409);
    expect(unable.json.error).toBe(`task type noop is not supported by the agent on: db-1 (${db1})`);
    expect(unable.json.details.hostIds).toEqual([db1]);
  });

  it('lists and gets tasks with filters; viewers may read', async () => {
    const { batch } = (await run({ type: 'system.info', target: { all: true } })).json;
    const list = await t.call('GET', `/v1/tasks?batch=${batch.id}`, { token: viewer });
    expect(list.status).toBe(200);
    expect(list.json.items).toHaveLength(3);
    const onDb = await t.call('GET', `/v1/tasks?host=${db1}&type=system.info&state=queued&limit=1`, { token: viewer });
    expect(onDb.json.items).toHaveLength(1);
    expect(onDb.json.items[0]).toMatchObject({ hostId: db1, type: 'system.info', state: 'queued', timeoutMs: 30_000, cancelRequestedAt: null });
    const one = await t.call('GET', `/v1/tasks/${onDb.json.items[0].id}`, { token: viewer });
    expect(one.json.id).toBe(onDb.json.items[0].id);
    expect((await t.call('GET', '/v1/tasks/t_nope', { token: viewer })).status).toBe(404);
    expect((await t.call('GET', '/v1/tasks?state=bogus', { token: viewer })).status).toBe(400);
  });

  it('cancels a queued task at once and asks the dispatcher to stop a running one', async () => {
    const { tasks } = (await run({ type: 'noop', target: { selector: 'role=web' } })).json;
    const [queued, running] = tasks as { id: string }[];
    await t.db.updateTable('tasks').set({ state: 'running', started_at: new Date() }).where('id', '=', running!.id).execute();

    const a = await t.call('POST', `/v1/tasks/${queued!.id}/cancel`, { token: operator });
    expect(a.status).toBe(200);
    expect(a.json).toEqual({ cancelled: [queued!.id], cancelling: [], finished: [] });
    const b = await t.call('POST', `/v1/tasks/${running!.id}/cancel`, { token: operator });
    expect(b.json).toEqual({ cancelled: [], cancelling: [running!.id], finished: [] });
    expect(t.dispatcher.cancels.at(-1)).toEqual({ taskIds: [running!.id], reason: expect.stringMatching(/^cancelled by test-operator/) });

    const rows = await t.db.selectFrom('tasks').selectAll().where('id', 'in', [queued!.id, running!.id]).orderBy('state').execute();
    expect(rows.map((r) => [r.id, r.state, r.cancel_requested_at instanceof Date])).toEqual([
      [queued!.id, 'cancelled', true],
      [running!.id, 'running', true],
    ]);
    expect(rows[0]!.error).toMatchObject({ code: 'cancelled' });
    const ev = await t.db.selectFrom('task_events').select('data').where('task_id', '=', queued!.id).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(ev.data).toMatchObject({ state: 'cancelled' });

    const again = await t.call('POST', `/v1/tasks/${queued!.id}/cancel`, { token: operator });
    expect(again.json).toEqual({ cancelled: [], cancelling: [], finished: [queued!.id] });
    expect((await t.call('POST', `/v1/tasks/${queued!.id}/cancel`, { token: viewer })).status).toBe(403);
    expect((await t.call('POST', '/v1/tasks/t_nope/cancel', { token: operator })).status).toBe(404);
  });

  it('streams a task’s stored events, resumes after Last-Event-ID, and ends once it is terminal', async () => {
    const { tasks } = (await run({ type: 'noop', target: { hostId: web1 } })).json;
    const id = tasks[0].id as string;
    const batchId = (await t.db.selectFrom('tasks').select('batch_id').where('id', '=', id).executeTakeFirstOrThrow()).batch_id;
    const addEvent = (kind: 'state' | 'progress', data: object) =>
      t.db
        .insertInto('task_events')
        .values({ task_id: id, batch_id: batchId, kind, data: JSON.stringify(data) })
        .execute();

    // While the task is live the stream keeps polling; finish it shortly after subscribing.
    const finishing = (async () => {
      await new Promise((r) => setTimeout(r, 150));
      await addEvent('progress', { percent: 50 });
      await t.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('tasks')
          .set({ state: 'succeeded', finished_at: new Date(), output: JSON.stringify({ delayedMs: 0, payload: '' }) })
          .where('id', '=', id)
          .execute();
        await trx
          .insertInto('task_events')
          .values({ task_id: id, batch_id: batchId, kind: 'state', data: JSON.stringify({ state: 'succeeded' }) })
          .execute();
      });
    })();
    const res = await t.call('GET', `/v1/tasks/${id}/events`, { token: viewer });
    await finishing;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(res.text);
    expect(events.map((e) => e.event)).toEqual(['state', 'progress', 'state', 'end']);
    const first = JSON.parse(events[0]!.data);
    expect(first).toMatchObject({ taskId: id, hostId: web1, kind: 'state', data: { state: 'queued' } });
    expect(Date.parse(first.at)).not.toBeNaN();
    expect(JSON.parse(events[2]!.data).data).toEqual({ state: 'succeeded' });
    expect(JSON.parse(events[3]!.data)).toEqual({ states: { succeeded: 1 } });

    const resumed = await t.call('GET', `/v1/tasks/${id}/events`, { token: viewer, headers: { 'last-event-id': events[1]!.id! } });
    expect(parseSse(resumed.text).map((e) => e.event)).toEqual(['state', 'end']);
    expect((await t.call('GET', '/v1/tasks/t_nope/events', { token: viewer })).status).toBe(404);
  });
});
