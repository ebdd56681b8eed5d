import { terminalTaskStates } from '@keyfleet/proto/v1';
import { z } from '@hono/zod-openapi';
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import type { TaskDispatcher } from '../api-deps.js';
import { ApiError } from '../api-error.js';

export const CancelOutcomeSchema = z
  .object({
    cancelled: z.array(z.string()).openapi({ description: 'were queued; now cancelled' }),
    cancelling: z.array(z.string()).openapi({ description: 'were on an agent; it was asked to stop' }),
    finished: z.array(z.string()).openapi({ description: 'already terminal; unchanged' }),
  })
  .openapi('CancelOutcome');

export type CancelOutcome = z.infer<typeof CancelOutcomeSchema>;

/**
 * Records the cancel request on every live task, cancels queued ones at once (the
 * conditional UPDATE wins or loses cleanly against a concurrent dispatch), and
 * asks the dispatcher to stop the ones already on an agent.
 */
export async function cancelTasks(
  db: Kysely<Database>,
  dispatcher: TaskDispatcher,
  scope: { taskId: string } | { batchId: string },
  reason: string,
): Promise<CancelOutcome> {
  const inScope = (eb: ExpressionBuilder<Database, 'tasks'>) => ('batchId' in scope ? eb('batch_id', '=', scope.batchId) : eb('id', '=', scope.taskId));
  const outcome = await db.transaction().execute(async (trx) => {
    const now = new Date();
    await trx
      .updateTable('tasks')
      .set({ cancel_requested_at: now })
      .where(inScope)
      .where('cancel_requested_at', 'is', null)
      .where('state', 'not in', terminalTaskStates)
      .execute();
    const error = { code: 'cancelled', message: reason };
    const cancelled = await trx
      .updateTable('tasks')
      .set({ state: 'cancelled', finished_at: now, error: JSON.stringify(error) })
      .where(inScope)
      .where('state', '=', 'queued')
      .returning(['id', 'batch_id'])
      .execute();
    if (cancelled.length > 0) {
      await trx
        .insertInto('task_events')
        .values(cancelled.map((t) => ({ task_id: t.id, batch_id: t.batch_id, kind: 'state' as const, data: JSON.stringify({ state: 'cancelled', error }) })))
        .execute();
    }
    const cancelledIds = new Set(cancelled.map((t) => t.id));
    const rows = await trx.selectFrom('tasks').select(['id', 'state']).where(inScope).execute();
    return {
      cancelled: [...cancelledIds],
      cancelling: rows.filter((t) => t.state === 'dispatched' || t.state === 'running').map((t) => t.id),
      finished: rows.filter((t) => terminalTaskStates.includes(t.state) && !cancelledIds.has(t.id)).map((t) => t.id),
    };
  });
  if (outcome.cancelling.length > 0) {
    try {
      await dispatcher.cancel(outcome.cancelling, reason);
    } catch (err) {
      throw new ApiError(502, `cancel recorded, but the agents could not be told: ${(err as Error).message}`, outcome);
    }
  }
  return outcome;
}
