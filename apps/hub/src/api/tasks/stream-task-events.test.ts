import { createLogger } from '@keyfleet/log';
import { Hono } from 'hono';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionTasks } from '../../dispatch/transition-tasks.js';
import { expectStatus } from '../../testing/expect-status.js';
import { LiveEventStream } from '../../testing/live-event-stream.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import { streamTaskEvents } from './stream-task-events.js';

/**
 * Real Postgres with concurrent writer transactions: the case the embedded PGlite (one session
 * at a time) cannot show, where an event id allocated earlier is committed later.
 */
describe('task event streams on Postgres with concurrent writers', () => {
  let t: TestContext;
  let operator: string;
  let hostId: string;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    t = await createTestContext('postgres');
    operator = await t.tokenFor('operator');
    hostId = await t.addHost({ hostname: 'web-1', taskTypes: ['noop'] });
  });
  afterAll(async () => {
    for (const client of clients) await client.end().catch(() => {});
    await t?.close();
  });

  const connect = async () => {
    const client = new pg.Client(t.database.clientConfig);
    await client.connect();
    clients.push(client);
    return client;
  };

  const newTask = async () => {
    const { tasks, batch } = await expectStatus(t.api(operator).v1.tasks.$post({ json: { type: 'noop', target: { hostId } } }), 201);
    return { taskId: tasks[0]!.id, batchId: batch.id };
  };

  const open = async (batchId: string, lastEventId?: number) =>
    new LiveEventStream(
      await t.client
        .as(operator, lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) })
        .api.v1.batches[':id'].events.$get({ param: { id: batchId } }),
    );

  const insertEvent = async (client: pg.Client, taskId: string, batchId: string, message: string): Promise<number> => {
    const { rows } = await client.query<{ id: string }>(
      `insert into task_events (task_id, batch_id, kind, data) values ($1, $2, 'progress', jsonb_build_object('message', $3::text)) returning id`,
      [taskId, batchId, message],
    );
    return Number(rows[0]!.id);
  };

  const finish = (taskId: string) => transitionTasks(t.db, { where: (eb) => eb('id', '=', taskId), to: 'succeeded', set: { finished_at: new Date() } });

  const storedIds = async (batchId: string) =>
    (await t.db.selectFrom('task_events').select('id').where('batch_id', '=', batchId).execute()).map((r) => r.id).sort((a, b) => a - b);

  it('sends an event whose transaction commits after a later id was already sent, and resumes in the same order', async () => {
    const { taskId, batchId } = await newTask();
    const live = await open(batchId);
    await live.waitFor('the queued state', () => live.events.some((e) => e.event === 'state'));

    const [a, b, c] = [await connect(), await connect(), await connect()];
    // c is the older transaction (its id assigned first), a is a writer still in flight,
    // b a later writer that commits before a does.
    await c.query('begin');
    await c.query('select pg_current_xact_id()');
    await a.query('begin');
    const idA = await insertEvent(a, taskId, batchId, 'A');
    await b.query('begin');
    const idB = await insertEvent(b, taskId, batchId, 'B');
    await b.query('commit');
    const idC = await insertEvent(c, taskId, batchId, 'C');
    await c.query('commit');
    expect(idA < idB && idB < idC).toBe(true);

    // C's transaction is older than A's, so it may be sent while A is open; polling ids would
    // have passed A's id by now.
    await live.waitFor('C', () => live.messages().includes('C'));
    await a.query('commit');
    await finish(taskId);
    await live.ended;

    expect(live.events.at(-1)?.event).toBe('end');
    expect(live.ids().toSorted((x, y) => x - y)).toEqual(await storedIds(batchId));
    expect(live.messages()).toEqual(['C', 'A', 'B']);

    // A client that had everything up to C gets exactly the rest, in the same order.
    const resumed = await open(batchId, idC);
    await resumed.ended;
    expect(resumed.ids()).toEqual(live.ids().slice(live.ids().indexOf(idC) + 1));
    expect(resumed.events.at(-1)?.event).toBe('end');
  });

  it('delivers every event exactly once to a live stream and to a resumed one while ten connections write concurrently', async () => {
    const { taskId, batchId } = await newTask();
    const live = await open(batchId);
    await live.waitFor('the queued state', () => live.events.some((e) => e.event === 'state'));

    // Deterministic jitter, so a failure replays the same interleavings.
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pause = () => new Promise((r) => setTimeout(r, Math.floor(random() * 15)));
    const writers = await Promise.all(Array.from({ length: 10 }, () => connect()));
    let resumed: LiveEventStream | undefined;
    let resumedFrom = 0;
    await Promise.all(
      writers.map(async (w, n) => {
        for (let i = 0; i < 25; i++) {
          await w.query('begin');
          // Some transactions take their id before inserting, like a write that locks rows first.
          if (random() < 0.5) await w.query('select pg_current_xact_id()');
          await pause();
          await insertEvent(w, taskId, batchId, `w${n}-${i}`);
          await pause();
          await w.query('commit');
          if (n === 0 && i === 12 && !resumed) {
            // A client that dropped mid-race and reconnects with the last id it had.
            resumedFrom = live.ids().at(-1)!;
            resumed = await open(batchId, resumedFrom);
          }
        }
      }),
    );
    await finish(taskId);
    await live.ended;
    await resumed!.ended;

    const stored = await storedIds(batchId);
    expect(stored).toHaveLength(1 + 250 + 1);
    const sent = live.ids();
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent.toSorted((x, y) => x - y)).toEqual(stored);
    expect(resumed!.ids()).toEqual(sent.slice(sent.indexOf(resumedFrom) + 1));
  });

  it('refuses a stream past the hub’s limit with 503 and Retry-After, and closes one after its lifetime for the client to resume', async () => {
    const { taskId } = await newTask();
    const deps = { db: t.db, log: createLogger('stream-test', { level: 'silent' }), eventPollMs: 20, maxEventStreams: 1, maxEventStreamMs: 1500 };
    const app = new Hono<AppEnv>()
      .onError((err, c) => (err instanceof ApiError ? c.json({ error: err.message }, err.status) : c.json({ error: String(err) }, 500)))
      .get('/events', (c) => streamTaskEvents(c, deps as unknown as ApiDeps, { taskId }));

    const first = new LiveEventStream(await app.request('/events'));
    await first.waitFor('the queued state', () => first.events.some((e) => e.event === 'state'));
    const refused = await app.request('/events');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({ error: 'this hub already serves 1 event streams; retry shortly' });

    // The task is still queued: the stream closes for its lifetime, not with `end`.
    await first.ended;
    expect(first.events.map((e) => e.event)).toEqual(['state']);
    const again = new LiveEventStream(await app.request('/events'));
    await again.waitFor('the queued state', () => again.events.some((e) => e.event === 'state'));
    await again.ended;
  });
});
