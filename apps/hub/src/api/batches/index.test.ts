import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse } from '../../testing/parse-sse.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

describe('/v1/batches', () => {
  let t: TestContext;
  let operator: string;
  beforeAll(async () => {
    t = await createTestContext();
    operator = await t.tokenFor('operator');
    for (const n of [1, 2, 3]) await t.addHost({ hostname: `kc-${n}`, labels: { fleet: 'a' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const runBatch = async () => (await t.call('POST', '/v1/tasks', { token: operator, body: { type: 'noop', target: { selector: 'fleet=a' } } })).json;

  it('shows a batch with its tasks and counts by state', async () => {
    const { batch } = await runBatch();
    const res = await t.call('GET', `/v1/batches/${batch.id}`, { token: operator });
    expect(res.status).toBe(200);
    expect(res.json.batch).toMatchObject({ id: batch.id, type: 'noop', createdBy: expect.stringMatching(/^test-operator/) });
    expect(res.json.tasks).toHaveLength(3);
    expect(res.json.counts).toEqual({ queued: 3 });
    expect((await t.call('GET', '/v1/batches/b_nope', { token: operator })).status).toBe(404);
  });

  it('cancels every queued task of a batch at once, with a state event each, and audits it', async () => {
    const { batch, tasks } = await runBatch();
    const done = tasks[0].id as string;
    const running = tasks[1].id as string;
    await t.db.updateTable('tasks').set({ state: 'succeeded', finished_at: new Date() }).where('id', '=', done).execute();
    await t.db.updateTable('tasks').set({ state: 'running' }).where('id', '=', running).execute();

    const res = await t.call('POST', `/v1/batches/${batch.id}/cancel`, { token: operator });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ cancelled: [tasks[2].id], cancelling: [running], finished: [done] });
    expect(t.dispatcher.cancels.at(-1)?.taskIds).toEqual([running]);

    const counts = (await t.call('GET', `/v1/batches/${batch.id}`, { token: operator })).json.counts;
    expect(counts).toEqual({ succeeded: 1, running: 1, cancelled: 1 });
    const events = await t.db
      .selectFrom('task_events')
      .select(['task_id', 'data'])
      .where('batch_id', '=', batch.id)
      .where('data', '@>', JSON.stringify({ state: 'cancelled' }) as never)
      .execute();
    expect(events.map((e) => e.task_id)).toEqual([tasks[2].id]);

    const audit = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'batches.cancel')
      .where('target', '=', batch.id)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ outcome: 'ok', detail: { cancelled: 1, cancelling: 1 } });
  });

  it('streams every task’s events and ends with counts once all are terminal', async () => {
    const { batch } = await runBatch();
    await t.call('POST', `/v1/batches/${batch.id}/cancel`, { token: operator });
    const res = await t.call('GET', `/v1/batches/${batch.id}/events`, { token: operator });
    const events = parseSse(res.text);
    expect(events.map((e) => e.event)).toEqual(['state', 'state', 'state', 'state', 'state', 'state', 'end']);
    const ids = events.slice(0, -1).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ states: { cancelled: 3 } });
  });
});
