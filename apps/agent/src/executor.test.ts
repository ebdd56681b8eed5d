import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { Executor } from './executor.js';
import type { JournaledTask, ResultBody } from './journal.js';
import { features } from './features/index.js';
import type { Handlers, TaskTransfer } from './task-handler.js';
import { testTaskContext } from './testing/test-task-context.js';

const log = createLogger('test', { level: 'silent' });

let seq = 0;
const task = (params: unknown, over: Partial<JournaledTask> = {}): JournaledTask => ({
  taskId: `t-${++seq}`,
  type: 'noop',
  params,
  timeoutMs: 5_000,
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
  ...over,
});

function setup(opts: { concurrency?: number; handlers?: Partial<Handlers> } = {}) {
  const started: string[] = [];
  const progress: Array<[string, number | undefined, string | undefined] | [string, number | undefined, string | undefined, TaskTransfer]> = [];
  const results = new Map<string, ResultBody>();
  const waiters = new Map<string, (r: ResultBody) => void>();
  const executor = new Executor({
    handlers: { ...features.handlers, ...opts.handlers },
    concurrency: opts.concurrency ?? 4,
    log,
    stateDir: '/nonexistent/keyfleet-agent-state',
    agent: testTaskContext().agent,
    abortGraceMs: 200,
    hooks: {
      started: async (id) => void started.push(id),
      progress: (id, p, m, t) => void progress.push(t ? [id, p, m, t] : [id, p, m]),
      finished: async (id, r) => {
        results.set(id, r);
        waiters.get(id)?.(r);
      },
    },
  });
  const result = (id: string) => {
    const done = results.get(id);
    return done ? Promise.resolve(done) : new Promise<ResultBody>((resolve) => waiters.set(id, resolve));
  };
  return { executor, started, progress, results, result };
}

describe('Executor', () => {
  it('runs a task and reports the validated output', async () => {
    const { executor, started, result } = setup();
    const t = task({ delayMs: 10, sizeBytes: 3 });
    executor.submit(t);
    const r = await result(t.taskId);
    expect(r).toMatchObject({ outcome: 'succeeded', output: { delayedMs: 10, payload: 'xxx' } });
    expect(r.startedAt).toBeDefined();
    expect(started).toEqual([t.taskId]);
  });

  it('fails a task that exceeds its timeout and aborts the handler', async () => {
    let sawAbort = false;
    const { executor, result } = setup({
      handlers: {
        noop: async (input, ctx) => {
          await sleep(input.delayMs, undefined, { signal: ctx.signal }).catch((err) => {
            sawAbort = true;
            throw err;
          });
          return { delayedMs: input.delayMs, payload: '' };
        },
      },
    });
    const t = task({ delayMs: 10_000 }, { timeoutMs: 100 });
    const before = Date.now();
    executor.submit(t);
    const r = await result(t.taskId);
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(r).toMatchObject({ outcome: 'failed', error: { code: 'timeout', message: 'task exceeded its timeout of 100 ms' } });
    await vi.waitFor(() => expect(sawAbort).toBe(true));
    await vi.waitFor(() => expect(executor.runningCount).toBe(0));
  });

  it('cancels a running task and a queued one', async () => {
    const { executor, started, result } = setup({ concurrency: 1 });
    const running = task({ delayMs: 10_000 });
    const queued = task({ delayMs: 0 });
    executor.submit(running);
    executor.submit(queued);
    await vi.waitFor(() => expect(started).toEqual([running.taskId]));
    expect(executor.cancel(queued.taskId, 'not needed')).toBe(true);
    expect(executor.cancel(running.taskId, 'operator said so')).toBe(true);
    expect(await result(running.taskId)).toMatchObject({ outcome: 'cancelled', error: { code: 'cancelled', message: 'operator said so' } });
    const q = await result(queued.taskId);
    expect(q).toMatchObject({ outcome: 'cancelled', error: { code: 'cancelled' } });
    expect(q.startedAt).toBeUndefined();
    expect(started).toEqual([running.taskId]);
    expect(executor.cancel('t-never-seen', 'x')).toBe(false);
  });

  it('never runs more tasks at once than the concurrency limit and queues the rest', async () => {
    let now = 0;
    let peak = 0;
    const { executor, result } = setup({
      concurrency: 2,
      handlers: {
        noop: async (input) => {
          peak = Math.max(peak, ++now);
          await sleep(input.delayMs);
          now--;
          return { delayedMs: input.delayMs, payload: '' };
        },
      },
    });
    const tasks = Array.from({ length: 6 }, () => task({ delayMs: 40 }));
    for (const t of tasks) executor.submit(t);
    expect(executor.runningCount).toBe(2);
    expect(executor.queuedCount).toBe(4);
    const rs = await Promise.all(tasks.map((t) => result(t.taskId)));
    expect(rs.every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(peak).toBe(2);
  });

  it('fails invalid input with the schema message without starting the handler', async () => {
    const { executor, started, result } = setup();
    const t = task({ delayMs: -5, bogus: true });
    executor.submit(t);
    const r = await result(t.taskId);
    expect(r).toMatchObject({ outcome: 'failed', error: { code: 'invalid_input' } });
    expect(r.error?.message).toMatch(/delayMs/);
    expect(r.error?.message).toMatch(/bogus/);
    expect(started).toEqual([]);
  });

  it('fails a task whose expiresAt passed before it could start', async () => {
    const { executor, started, result } = setup();
    const t = task({}, { expiresAt: new Date(Date.now() - 1_000).toISOString() });
    executor.submit(t);
    expect(await result(t.taskId)).toMatchObject({ outcome: 'failed', error: { code: 'expired' } });
    expect(started).toEqual([]);
  });

  it('reports handler errors, output that breaks the schema, and unknown types', async () => {
    const { executor, result } = setup({
      handlers: { 'system.info': async () => ({ hostname: 42 }) as never },
    });
    const thrown = task({ fail: 'disk on fire' });
    const badOutput = task({}, { type: 'system.info' });
    const unknown = task({}, { type: 'keycloak.nonexistent' });
    for (const t of [thrown, badOutput, unknown]) executor.submit(t);
    expect(await result(thrown.taskId)).toMatchObject({ outcome: 'failed', error: { code: 'handler_error', message: 'disk on fire' } });
    const bad = await result(badOutput.taskId);
    expect(bad).toMatchObject({ outcome: 'failed', error: { code: 'handler_error' } });
    expect(bad.error?.message).toMatch(/does not match the declared schema.*hostname/s);
    expect(await result(unknown.taskId)).toMatchObject({ outcome: 'failed', error: { code: 'unknown_type' } });
  });

  it('forwards progress with the percentage clamped', async () => {
    const { executor, progress, result } = setup({
      handlers: {
        noop: async (_input, ctx) => {
          ctx.progress(50, 'half');
          ctx.progress(250);
          return { delayedMs: 0, payload: '' };
        },
      },
    });
    const t = task({});
    executor.submit(t);
    await result(t.taskId);
    expect(progress).toEqual([
      [t.taskId, 50, 'half'],
      [t.taskId, 100, undefined],
    ]);
  });

  it('forwards a streaming task’s bytes as whole, non-negative counts', async () => {
    const { executor, progress, result } = setup({
      handlers: {
        noop: async (_input, ctx) => {
          ctx.progress(undefined, 'dumping', { bytes: 1536.7 });
          ctx.progress(undefined, 'restoring', { bytes: -1, totalBytes: 4096 });
          return { delayedMs: 0, payload: '' };
        },
      },
    });
    const t = task({});
    executor.submit(t);
    await result(t.taskId);
    expect(progress).toEqual([
      [t.taskId, undefined, 'dumping', { bytes: 1536 }],
      [t.taskId, undefined, 'restoring', { bytes: 0, totalBytes: 4096 }],
    ]);
  });

  it('on stop, starts nothing new and leaves cut-off tasks without a result', async () => {
    const { executor, started, results } = setup({ concurrency: 1 });
    const running = task({ delayMs: 10_000 });
    const queued = task({ delayMs: 0 });
    executor.submit(running);
    executor.submit(queued);
    await vi.waitFor(() => expect(started).toEqual([running.taskId]));
    await executor.stop(50);
    // Refused on the spot: a stopped executor neither queues nor runs it.
    executor.submit(task({}));
    expect(executor.queuedCount + executor.runningCount).toBe(0);
    expect(started).toEqual([running.taskId]);
    expect(results.size).toBe(0);
    expect(executor.runningCount).toBe(0);
  });
});
