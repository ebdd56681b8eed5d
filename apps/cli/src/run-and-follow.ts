import { batchDetail, type BatchDetail } from './batch-detail.js';
import type { CliContext } from './cli-context.js';
import { followEvents } from './follow-events.js';
import { expectOk } from './hub-client.js';
import type { TaskName } from '@keyfleet/proto/v1';
import { printBatch } from './print-batch.js';
import type { AnyTaskRequest, TaskRequest } from './task-request.js';

export interface RunOptions {
  /** Follow the batch to its end, then render it; otherwise print the queued tasks and how to follow them. */
  wait: boolean;
  /** How to show the finished batch; default: the per-host result table. Throw TasksFailed for failed hosts. */
  render?: (batch: BatchDetail) => void;
}

/** Queues a task on the target through POST /v1/tasks and, with `wait`, follows it live. */
export async function runAndFollow<K extends TaskName>(ctx: CliContext, request: TaskRequest<K>, opts: RunOptions): Promise<void> {
  // TaskRequest<K> is one member of the union for every K; TypeScript cannot see that for a generic K.
  const created = await expectOk(await ctx.hub.v1.tasks.$post({ json: request as unknown as AnyTaskRequest }));
  await followBatch(ctx, created, opts);
}

/** What `runAndFollow` does once a batch exists (rollbacks create theirs through another route). */
export async function followBatch(
  ctx: CliContext,
  created: { batch: { id: string }; tasks: Array<{ id: string; hostId: string; state: string }> },
  opts: RunOptions,
): Promise<void> {
  if (!opts.wait) {
    ctx.output.table(created, created.tasks, [
      ['TASK', (t) => t.id],
      ['HOST', (t) => t.hostId],
      ['STATE', (t) => t.state],
    ]);
    ctx.output.line(`batch ${created.batch.id}: follow with \`keyfleet tasks show ${created.batch.id} --wait\``);
    return;
  }
  await followEvents(
    ctx,
    created.batch.id,
    created.tasks.map((t) => t.hostId),
  );
  const body = await batchDetail(ctx, created.batch.id);
  (opts.render ?? ((b) => printBatch(ctx.output, b)))(body);
}
