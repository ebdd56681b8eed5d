import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { parseSse } from '../../testing/parse-sse.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

describe.each(testBackends)('/v1/batches (%s)', (backend) => {
  let t: TestContext;
  let operator: string;
  beforeAll(async () => {
    t = await createTestContext(backend);
    operator = await t.tokenFor('operator');
    for (const n of [1, 2, 3]) await t.addHost({ hostname: `kc-${n}`, labels: { fleet: 'a' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const runBatch = () => expectStatus(t.api(operator).v1.tasks.$post({ json: { type: 'noop', target: { selector: 'fleet=a' } } }), 201);
  const batchOf = (id: string) => t.api(operator).v1.batches[':id'].$get({ param: { id } });

  it('shows a batch with its tasks and counts by state', async () => {
    const { batch } = await runBatch();
    const res = await expectStatus(batchOf(batch.id), 200);
    expect(res.batch).toMatchObject({ id: batch.id, type: 'noop', createdBy: expect.stringMatching(/^test-operator/) });
    expect(res.tasks).toHaveLength(3);
    expect(res.counts).toEqual({ queued: 3 });
    expect((await batchOf('b_nope')).status).toBe(404);
  });

  it('cancels every queued task of a batch at once, with a state event each, and audits it', async () => {
    const { batch, tasks } = await runBatch();
    const [done, running, queued] = tasks.map((task) => task.id);
    await t.db.updateTable('tasks').set({ state: 'succeeded', finished_at: new Date() }).where('id', '=', done!).execute();
    await t.db.updateTable('tasks').set({ state: 'running' }).where('id', '=', running!).execute();

    const res = await expectStatus(t.api(operator).v1.batches[':id'].cancel.$post({ param: { id: batch.id } }), 200);
    expect(res).toEqual({ cancelled: [queued], cancelling: [running], finished: [done] });
    expect(t.dispatcher.cancels.at(-1)?.taskIds).toEqual([running]);

    expect((await expectStatus(batchOf(batch.id), 200)).counts).toEqual({ succeeded: 1, running: 1, cancelled: 1 });
    const events = await t.db
      .selectFrom('task_events')
      .select(['task_id', 'data'])
      .where('batch_id', '=', batch.id)
      .where('data', '@>', JSON.stringify({ state: 'cancelled' }) as never)
      .execute();
    expect(events.map((e) => e.task_id)).toEqual([queued]);

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
    await expectStatus(t.api(operator).v1.batches[':id'].cancel.$post({ param: { id: batch.id } }), 200);
    const res = await t.api(operator).v1.batches[':id'].events.$get({ param: { id: batch.id } });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual(['state', 'state', 'state', 'state', 'state', 'state', 'end']);
    const ids = events.slice(0, -1).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ states: { cancelled: 3 } });
  });
});
