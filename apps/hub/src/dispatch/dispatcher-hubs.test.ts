import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testBackends } from '../testing/test-database.js';
import { startTestFleet, type TestFleet } from '../testing/test-fleet.js';
import { waitOptions } from '../testing/wait-options.js';

// Several hubs share one database and one NATS: claims, writes and sweeps must not double up.
describe.each(testBackends)('two hubs on one %s database', (backend) => {
  let fleet: TestFleet;
  beforeAll(async () => {
    fleet = await startTestFleet(backend);
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('send each task once, store each result once, expire each task once', async () => {
    const hubs = [await fleet.startHub({ dispatchIntervalMs: 20 }), await fleet.startHub({ dispatchIntervalMs: 20, db: fleet.database.connect() })];
    const hostId = await fleet.addHost();
    const taskIds: string[] = [];
    for (let i = 0; i < 120; i++) taskIds.push(await fleet.addTask(hostId));
    const doomed: string[] = [];
    for (let i = 0; i < 10; i++) doomed.push(await fleet.addTask(await fleet.addHost(), { expiresInMs: 200 }));

    const agent = await fleet.agent(hostId);
    // Slow replies keep claims in flight while the other hub loops many times.
    agent.onTask = async () => {
      await new Promise((r) => setTimeout(r, 300));
      return { status: 'accepted' };
    };
    await agent.hello({ maxConcurrency: 40 });
    const kicking = setInterval(() => {
      for (const h of hubs) h.dispatcher.kick();
    }, 5);
    try {
      await vi.waitFor(
        async () =>
          expect(await fleet.db.selectFrom('tasks').select('id').where('id', 'in', taskIds).where('state', '=', 'dispatched').execute()).toHaveLength(
            taskIds.length,
          ),
        { ...waitOptions, timeout: 30_000 },
      );
    } finally {
      clearInterval(kicking);
    }
    // Every send follows a claim, and every claim counts in dispatch_attempts; a dispatched task is
    // claimed by no one. So one attempt each, seen once all are dispatched, means no second send
    // is still on its way: nothing to wait for before counting what the agent got.
    const attempts = await fleet.db.selectFrom('tasks').select('dispatch_attempts').where('id', 'in', taskIds).execute();
    expect(attempts.every((a) => a.dispatch_attempts === 1)).toBe(true);
    const sends = new Map<string, number>();
    for (const t of agent.tasks) sends.set(t.taskId, (sends.get(t.taskId) ?? 0) + 1);
    expect([...sends.values()].filter((n) => n > 1)).toEqual([]);
    expect(sends.size).toBe(taskIds.length);

    // Each result is sent twice, as an agent re-sending after a lost ack would; the queue group spreads them over both hubs.
    const replies = await Promise.all(taskIds.flatMap((id) => [agent.result(id, 'succeeded', { output: { id } }), agent.result(id, 'failed')]));
    expect(replies.every((r) => r.kind === 'ack')).toBe(true);
    const finals = await fleet.db
      .selectFrom('task_events')
      .select(['task_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where('task_id', 'in', taskIds)
      .where(({ ref }) => ref('data', '->>').key('state'), 'in', ['succeeded', 'failed'])
      .groupBy('task_id')
      .execute();
    expect(finals).toHaveLength(taskIds.length);
    expect(finals.every((f) => Number(f.n) === 1)).toBe(true);

    await vi.waitFor(
      async () =>
        expect(await fleet.db.selectFrom('tasks').select('id').where('id', 'in', doomed).where('state', '=', 'expired').execute()).toHaveLength(doomed.length),
      waitOptions,
    );
    const expiredEvents = await fleet.db.selectFrom('task_events').select('task_id').where('task_id', 'in', doomed).execute();
    expect(expiredEvents.map((e) => e.task_id).sort()).toEqual([...doomed].sort());

    const handledBy = (hub: number) => hubs[hub]!.nc.stats().inMsgs;
    expect(handledBy(0)).toBeGreaterThan(0);
    expect(handledBy(1)).toBeGreaterThan(0);
    await Promise.all(hubs.map((h) => h.stop()));
  });
});
