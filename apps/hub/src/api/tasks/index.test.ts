import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import type { TaskRequest } from '../../testing/hub-test-client.js';
import { LiveEventStream } from '../../testing/live-event-stream.js';
import { parseSse } from '../../testing/parse-sse.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

/** The parts of the OpenAPI document this suite reads. */
interface Schema {
  $ref?: string;
  type?: string;
  enum?: string[];
  oneOf?: Schema[];
  discriminator?: { propertyName: string };
  properties?: Record<string, Schema>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
}

describe.each(testBackends)('/v1/tasks (%s)', (backend) => {
  let t: TestContext;
  let operator: string;
  let viewer: string;
  let web1: string;
  let web2: string;
  let db1: string;

  beforeAll(async () => {
    t = await createTestContext(backend);
    operator = await t.tokenFor('operator');
    viewer = await t.tokenFor('viewer');
    web1 = await t.addHost({ hostname: 'web-1', labels: { role: 'web', env: 'prod' }, taskTypes: ['noop', 'system.info'] });
    web2 = await t.addHost({ hostname: 'web-2', labels: { role: 'web', env: 'dev' }, status: 'offline' });
    db1 = await t.addHost({ hostname: 'db-1', labels: { role: 'db', env: 'prod' }, taskTypes: ['system.info'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const run = (json: TaskRequest, token = operator) => t.api(token).v1.tasks.$post({ json });
  /** A request body the API's types rule out, sent as it is. */
  const runRaw = (body: unknown) => t.raw('POST', '/v1/tasks', { token: operator, body });
  const tasksOf = (json: TaskRequest) => expectStatus(run(json), 201);

  it('documents POST /v1/tasks as a union on type with each declared task’s params', async () => {
    const doc = (await t.raw('GET', '/v1/openapi.json')).json as OpenApiDocument;
    const ref = (schema: Schema) => doc.components.schemas[schema.$ref!.split('/').at(-1)!]!;
    const union = ref(doc.paths['/v1/tasks']!.post!.requestBody.content['application/json']!.schema);
    expect(union.discriminator!.propertyName).toBe('type');
    const members = union.oneOf!.map(ref);
    const typeOf = (m: Schema) => m.properties!.type!.enum![0];
    expect(members.map(typeOf)).toEqual(v1.taskDefinitionList.map((d) => d.name));
    const noop = members.find((m) => typeOf(m) === 'noop')!;
    expect(Object.keys(noop.properties!.params!.properties!)).toEqual(['delayMs', 'sizeBytes', 'fail']);
    expect(noop.properties!.params!.properties!.delayMs!.type).toBe('integer');
  });

  it('forbids a viewer from running a task, and audits the refusal', async () => {
    const res = await expectStatus(run({ type: 'noop', target: { hostId: web1 } }, viewer), 403);
    expect(res.error).toBe('forbidden: tasks.create needs role operator or higher; token "test-viewer" has role viewer');
    const row = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'tasks.create').where('outcome', '=', 'denied').executeTakeFirstOrThrow();
    expect(row.actor).toMatch(/^test-viewer \(tok_/);
  });

  it('queues one task per selected host with a state event each, in one batch, and kicks the dispatcher', async () => {
    const kicks = t.dispatcher.kicks;
    const { batch, tasks } = await tasksOf({ type: 'noop', target: { selector: 'role=web' }, params: { delayMs: 5 }, expiresInMs: 60_000 });
    expect(batch).toMatchObject({ type: 'noop', params: { delayMs: 5, sizeBytes: 0 }, target: { kind: 'labels', labels: { role: 'web' } } });
    expect(batch.id).toMatch(/^b_[0-9a-f]{20}$/);
    expect(tasks.map((x) => x.hostId).sort()).toEqual([web1, web2].sort());
    expect(tasks.every((x) => /^t_[0-9a-f]{20}$/.test(x.id) && x.state === 'queued')).toBe(true);
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
    const res = await runRaw({ type: 'rm-rf', target: { all: true } });
    expect(res.status).toBe(400);
    const known = Object.keys(v1.taskDefinitions);
    expect(known).toEqual(expect.arrayContaining(['noop', 'system.info', 'keycloak.realm.apply']));
    expect(res.json).toEqual({ error: `unknown task type "rm-rf"; known types: ${known.join(', ')}`, details: expect.objectContaining({ knownTypes: known }) });
  });

  it('validates params with the task’s proto schema, naming the field', async () => {
    const res = await runRaw({ type: 'noop', target: { hostId: web1 }, params: { delayMs: 'soon' } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: expect.stringMatching(/^invalid params for noop: delayMs: /), details: [{ path: ['delayMs'] }] });
    const extra = await runRaw({ type: 'system.info', target: { hostId: db1 }, params: { verbose: true } });
    expect(extra.status).toBe(400);
    expect(extra.json).toMatchObject({ error: expect.stringMatching(/^invalid params for system.info: /) });
  });

  it('refuses a bad realm spec with 400 naming the field: unknown field, invalid redirect URI, missing realm', async () => {
    const plan = (spec: unknown) => runRaw({ type: 'keycloak.realm.plan', target: { hostId: web2 }, params: { spec } });
    const unknown = await plan({ realm: 'demo', colour: 'blue' });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ error: expect.stringMatching(/^invalid params for keycloak\.realm\.plan: spec: Unrecognized key: "colour"/) });
    const redirect = await plan({ realm: 'demo', clients: [{ clientId: 'web', redirectUris: ['https://ok.example/*', 'not a url'] }] });
    expect(redirect.status).toBe(400);
    expect(redirect.json).toMatchObject({
      error: expect.stringMatching(/^invalid params for keycloak\.realm\.plan: spec\.clients\.0\.redirectUris\.1: must be an absolute URL/),
      details: [{ path: ['spec', 'clients', 0, 'redirectUris', 1] }],
    });
    const missing = await plan({ clients: [] });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ error: expect.stringMatching(/^invalid params for keycloak\.realm\.plan: spec\.realm: /) });
    expect(await t.db.selectFrom('tasks').select('id').where('type', '=', 'keycloak.realm.plan').execute()).toEqual([]);
  });

  it('rejects malformed JSON and bad bodies with 400', async () => {
    const bad = await runRaw('{"type": "noop",');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'Malformed JSON in request body' });
    const noTarget = await runRaw({ type: 'noop' });
    expect(noTarget.status).toBe(400);
    expect(noTarget.json).toMatchObject({ error: expect.stringMatching(/^invalid body: target: /) });
    const badTimeout = await expectStatus(run({ type: 'noop', target: { all: true }, timeoutMs: -5 }), 400);
    expect(badTimeout.error).toMatch(/timeoutMs/);
  });

  it('refuses targets matching no host and hosts that did not declare the type', async () => {
    const none = await expectStatus(run({ type: 'noop', target: { selector: 'role=mail' } }), 404);
    expect(none.error).toBe('selector "role=mail" matches no host');
    const missing = await expectStatus(run({ type: 'noop', target: { hostId: 'h_missing' } }), 404);
    expect(missing.error).toBe('target host h_missing not found');
    const unable = await expectStatus(run({ type: 'noop', target: { selector: 'env=prod' } }), 409);
    expect(unable).toEqual({ error: `task type noop is not supported by the agent on: db-1 (${db1})`, details: expect.objectContaining({ hostIds: [db1] }) });
  });

  it('lists and gets tasks with filters; viewers may read', async () => {
    const { batch } = await tasksOf({ type: 'system.info', target: { all: true } });
    const list = (query: { batch?: string; host?: string; type?: string; state?: v1.TaskState; limit?: string }) =>
      expectStatus(t.api(viewer).v1.tasks.$get({ query }), 200);
    expect((await list({ batch: batch.id })).items).toHaveLength(3);
    const onDb = (await list({ host: db1, type: 'system.info', state: 'queued', limit: '1' })).items;
    expect(onDb).toHaveLength(1);
    expect(onDb[0]).toMatchObject({ hostId: db1, type: 'system.info', state: 'queued', timeoutMs: 30_000, cancelRequestedAt: null });
    const get = (id: string) => t.api(viewer).v1.tasks[':id'].$get({ param: { id } });
    expect((await expectStatus(get(onDb[0]!.id), 200)).id).toBe(onDb[0]!.id);
    expect((await get('t_nope')).status).toBe(404);
    expect((await t.raw('GET', '/v1/tasks?state=bogus', { token: viewer })).status).toBe(400);
  });

  it('cancels a queued task at once and asks the dispatcher to stop a running one', async () => {
    const { tasks } = await tasksOf({ type: 'noop', target: { selector: 'role=web' } });
    const [queued, running] = tasks;
    const cancel = (id: string, token = operator) => t.api(token).v1.tasks[':id'].cancel.$post({ param: { id } });
    await t.db.updateTable('tasks').set({ state: 'running', started_at: new Date() }).where('id', '=', running!.id).execute();

    expect(await expectStatus(cancel(queued!.id), 200)).toEqual({ cancelled: [queued!.id], cancelling: [], finished: [] });
    expect(await expectStatus(cancel(running!.id), 200)).toEqual({ cancelled: [], cancelling: [running!.id], finished: [] });
    expect(t.dispatcher.cancels.at(-1)).toEqual({ taskIds: [running!.id], reason: expect.stringMatching(/^cancelled by test-operator/) });

    const rows = await t.db.selectFrom('tasks').selectAll().where('id', 'in', [queued!.id, running!.id]).orderBy('state').execute();
    expect(rows.map((r) => [r.id, r.state, r.cancel_requested_at instanceof Date])).toEqual([
      [queued!.id, 'cancelled', true],
      [running!.id, 'running', true],
    ]);
    expect(rows[0]!.error).toMatchObject({ code: 'cancelled' });
    const ev = await t.db.selectFrom('task_events').select('data').where('task_id', '=', queued!.id).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(ev.data).toMatchObject({ state: 'cancelled' });

    expect(await expectStatus(cancel(queued!.id), 200)).toEqual({ cancelled: [], cancelling: [], finished: [queued!.id] });
    expect((await cancel(queued!.id, viewer)).status).toBe(403);
    expect((await cancel('t_nope')).status).toBe(404);
  });

  it('streams a task’s stored events, resumes after Last-Event-ID, and ends once it is terminal', async () => {
    const { tasks } = await tasksOf({ type: 'noop', target: { hostId: web1 } });
    const id = tasks[0]!.id;
    const batchId = (await t.db.selectFrom('tasks').select('batch_id').where('id', '=', id).executeTakeFirstOrThrow()).batch_id;
    const addEvent = (kind: 'state' | 'progress', data: object) =>
      t.db
        .insertInto('task_events')
        .values({ task_id: id, batch_id: batchId, kind, data: JSON.stringify(data) })
        .execute();

    // While the task is live the stream keeps polling; once it has sent what is stored, the task moves on and finishes.
    const res = await t.api(viewer).v1.tasks[':id'].events.$get({ param: { id } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const live = new LiveEventStream(res);
    await live.waitFor('the queued state', () => live.events.some((e) => e.event === 'state'));
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
    await live.ended;
    const events = live.events;
    expect(events.map((e) => e.event)).toEqual(['state', 'progress', 'state', 'end']);
    const first = JSON.parse(events[0]!.data);
    expect(first).toMatchObject({ taskId: id, hostId: web1, kind: 'state', data: { state: 'queued' } });
    expect(Date.parse(first.at)).not.toBeNaN();
    expect(JSON.parse(events[2]!.data).data).toEqual({ state: 'succeeded' });
    expect(JSON.parse(events[3]!.data)).toEqual({ states: { succeeded: 1 } });

    const resumed = await t.client.as(viewer, { 'last-event-id': events[1]!.id! }).api.v1.tasks[':id'].events.$get({ param: { id } });
    expect(parseSse(await resumed.text()).map((e) => e.event)).toEqual(['state', 'end']);
    expect((await t.api(viewer).v1.tasks[':id'].events.$get({ param: { id: 't_nope' } })).status).toBe(404);
  });
});
