import { z } from 'zod';
import type { Logger } from '@keyfleet/log';
import { isTaskName, taskDefinitions, type TaskError } from '@keyfleet/proto/v1';
import type { JournaledTask, ResultBody } from './journal.js';
import type { AgentFacts, Handlers, TaskContext, TaskTransfer } from './task-handler.js';
import { TaskFailure } from './task-failure.js';

export interface ExecutorHooks {
  /** Awaited before the handler runs: once it resolves, a crash means "interrupted", not "run again". */
  started(taskId: string, startedAt: string): Promise<void>;
  progress(taskId: string, percent: number | undefined, message: string | undefined, transfer?: TaskTransfer): void;
  /** Awaited before the slot is freed, so a stopped executor has stored every result it produced. */
  finished(taskId: string, result: ResultBody): Promise<void>;
}

export interface ExecutorOptions {
  handlers: Handlers;
  concurrency: number;
  hooks: ExecutorHooks;
  log: Logger;
  /** The agent's state directory, handed to handlers (e.g. where the Keycloak instance record lives). */
  stateDir: string;
  agent: AgentFacts;
  /** How long a handler may ignore its abort signal before its slot is given to the next task. */
  abortGraceMs?: number;
}

type AbortCause = { kind: 'timeout' | 'cancel' | 'shutdown'; reason: string };

interface Running {
  controller: AbortController;
  cause?: AbortCause;
  /** Settles when the slot is free again. */
  done?: Promise<void>;
}

type AnyHandler = (input: unknown, ctx: TaskContext) => Promise<unknown>;

const MAX_MESSAGE = 4000;
const failed = (code: TaskError['code'], message: string, startedAt?: string): ResultBody => ({
  outcome: 'failed',
  error: { code, message: message.slice(0, MAX_MESSAGE) },
  startedAt,
  finishedAt: new Date().toISOString(),
});

/**
 * Runs accepted tasks with a concurrency limit (the rest wait in FIFO order), a
 * per-task timeout, cancellation and input/output validation against the task's
 * declaration. Every task it starts ends in exactly one `finished` hook call,
 * except tasks cut off by `stop`, which the journal reports as interrupted later.
 */
export class Executor {
  private readonly queue: JournaledTask[] = [];
  private readonly running = new Map<string, Running>();
  private stopping = false;

  constructor(private readonly opts: ExecutorOptions) {}

  get runningCount(): number {
    return this.running.size;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  submit(task: JournaledTask): void {
    if (this.stopping) return;
    this.queue.push(task);
    this.pump();
  }

  /** True when the task was queued or running here; its result becomes `cancelled`. */
  cancel(taskId: string, reason: string): boolean {
    const queued = this.queue.findIndex((t) => t.taskId === taskId);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      void this.finish(taskId, { outcome: 'cancelled', error: { code: 'cancelled', message: reason }, finishedAt: new Date().toISOString() });
      return true;
    }
    const run = this.running.get(taskId);
    if (!run || run.cause) return false;
    run.cause = { kind: 'cancel', reason };
    run.controller.abort(new Error(`cancelled: ${reason}`));
    return true;
  }

  /**
   * Starts nothing new (queued tasks stay `accepted` in the journal and run after the
   * restart), waits up to `graceMs` for running tasks, then aborts the rest without a
   * result so they are reported as interrupted.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const run of this.running.values()) {
      if (run.cause) continue;
      run.cause = { kind: 'shutdown', reason: 'agent stopping' };
      run.controller.abort(new Error('agent stopping'));
    }
    await all();
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.opts.concurrency && this.queue.length > 0) {
      const task = this.queue.shift()!;
      const run: Running = { controller: new AbortController() };
      this.running.set(task.taskId, run);
      run.done = this.execute(task, run)
        .catch((err: Error) => this.opts.log.error({ taskId: task.taskId, reason: err.message }, 'task execution failed unexpectedly'))
        .finally(() => {
          this.running.delete(task.taskId);
          this.pump();
        });
    }
  }

  private async finish(taskId: string, result: ResultBody): Promise<void> {
    try {
      await this.opts.hooks.finished(taskId, result);
    } catch (err) {
      this.opts.log.error({ taskId, reason: (err as Error).message }, 'could not record the task result');
    }
  }

  private async execute(task: JournaledTask, run: Running): Promise<void> {
    const { taskId } = task;
    const log = this.opts.log.child({ taskId, type: task.type });
    if (Date.parse(task.expiresAt) <= Date.now()) {
      return this.finish(taskId, failed('expired', `task expired at ${task.expiresAt} before it could start`));
    }
    if (!isTaskName(task.type)) {
      return this.finish(taskId, failed('unknown_type', `this agent has no handler for task type "${task.type}"`));
    }
    const def = taskDefinitions[task.type];
    const input = def.input.safeParse(task.params);
    if (!input.success) return this.finish(taskId, failed('invalid_input', z.prettifyError(input.error)));

    const startedAt = new Date().toISOString();
    try {
      await this.opts.hooks.started(taskId, startedAt);
    } catch (err) {
      return this.finish(taskId, failed('handler_error', `could not journal the task start: ${(err as Error).message}`));
    }
    const { signal } = run.controller;
    const timer = setTimeout(() => {
      if (run.cause) return;
      run.cause = { kind: 'timeout', reason: `task exceeded its timeout of ${task.timeoutMs} ms` };
      run.controller.abort(new Error(run.cause.reason));
    }, task.timeoutMs);
    const ctx: TaskContext = {
      signal,
      log,
      stateDir: this.opts.stateDir,
      agent: this.opts.agent,
      progress: (percent, message, transfer) => {
        if (signal.aborted) return;
        const p = percent === undefined || !Number.isFinite(percent) ? undefined : Math.min(100, Math.max(0, percent));
        this.opts.hooks.progress(taskId, p, message?.slice(0, 2000), transfer && wholeBytes(transfer));
      },
    };
    const handler = this.opts.handlers[task.type] as AnyHandler;
    const outcome = Promise.resolve()
      .then(() => handler(input.data, ctx))
      .then(
        (output) => ({ ok: true as const, output }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const first = await Promise.race([outcome, aborted]);
    clearTimeout(timer);

    if (run.cause) {
      // Give a handler that honours its signal the chance to wind down inside its slot,
      // but never let one that ignores it hold the slot forever.
      const grace = new Promise<void>((r) => setTimeout(r, this.opts.abortGraceMs ?? 10_000).unref());
      const settle = Promise.race([outcome, grace]);
      const { kind, reason } = run.cause;
      if (kind === 'shutdown') return void (await settle);
      const result: ResultBody =
        kind === 'timeout'
          ? failed('timeout', reason, startedAt)
          : { outcome: 'cancelled', error: { code: 'cancelled', message: reason }, startedAt, finishedAt: new Date().toISOString() };
      await this.finish(taskId, result);
      await settle;
      return;
    }
    const done = first as Awaited<typeof outcome>;
    if (!done.ok) {
      const message = done.err instanceof Error ? done.err.message : String(done.err);
      log.warn({ reason: message }, 'task handler failed');
      const code = done.err instanceof TaskFailure ? done.err.code : 'handler_error';
      return this.finish(taskId, failed(code, message || 'handler failed without a message', startedAt));
    }
    const output = def.output.safeParse(done.output);
    if (!output.success) {
      return this.finish(taskId, failed('handler_error', `handler output does not match the declared schema: ${z.prettifyError(output.error)}`, startedAt));
    }
    return this.finish(taskId, { outcome: 'succeeded', output: output.data, startedAt, finishedAt: new Date().toISOString() });
  }
}

/** The wire takes whole, non-negative byte counts; a handler's arithmetic may not be. */
function wholeBytes(t: TaskTransfer): TaskTransfer {
  const whole = (n: number) => Math.max(0, Math.floor(Number.isFinite(n) ? n : 0));
  return { bytes: whole(t.bytes), ...(t.totalBytes === undefined ? {} : { totalBytes: whole(t.totalBytes) }) };
}
