import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@keyfleet/log';
import { DecodeError, decode, encode, messages, subjects } from '@keyfleet/proto/v1';
import type { Database } from '../store/database.js';
import { describeRequestError } from './describe-request-error.js';
import type { Limiter } from './limiter.js';
import { transitionTasks } from './transition-tasks.js';

export interface Canceller {
  /** Cancels queued tasks here and asks agents to stop dispatched/running ones. */
  cancel(taskIds: string[], reason: string): Promise<void>;
  /** Re-sends pending cancels to an agent that just said hello (it may have missed them). */
  resendForHost(hostId: string): Promise<void>;
}

const RESEND_REASON = 'cancel requested while the agent was unreachable';

export function createCanceller(deps: { db: Kysely<Database>; nc: NatsConnection; log: Logger; limiter: Limiter; requestTimeoutMs: number }): Canceller {
  const { db, nc, log } = deps;

  const ask = async (task: { id: string; host_id: string }, reason: string): Promise<void> => {
    let found: boolean;
    try {
      const reply = await deps.limiter.run(() =>
        nc.request(subjects.agent.cancel(task.host_id), encode(messages.cancel, { kind: 'cancel', taskId: task.id, reason: reason.slice(0, 500) }), {
          timeout: deps.requestTimeoutMs,
        }),
      );
      const body = decode(messages.cancelReply, reply.data);
      if (body.taskId !== task.id) throw new Error(`cancel reply names task ${body.taskId}`);
      found = body.found;
    } catch (err) {
      const why = err instanceof DecodeError ? `malformed cancel reply: ${err.reason}` : describeRequestError(err).reason;
      log.info({ taskId: task.id, hostId: task.host_id, reason: why }, 'cancel not delivered; re-sent when the agent says hello');
      return;
    }
    if (found) return; // the agent stops it and reports a `cancelled` result
    // Not running there: a task that never started is cancelled here; a running one has a result on its way.
    const changed = await transitionTasks(db, {
      where: (eb) => eb.and([eb('id', '=', task.id), eb('state', '=', 'dispatched')]),
      to: 'cancelled',
      error: { code: 'cancelled', message: reason },
      set: { finished_at: sql<Date>`now()` },
    });
    if (changed.length > 0) log.info({ taskId: task.id }, 'task cancelled before the agent started it');
  };

  const askAll = async (tasks: Array<{ id: string; host_id: string }>, reason: string) => {
    await Promise.all(tasks.map((t) => ask(t, reason)));
  };

  return {
    async cancel(taskIds, reason) {
      if (taskIds.length === 0) return;
      await transitionTasks(db, {
        where: (eb) => eb.and([eb('id', 'in', taskIds), eb('state', '=', 'queued')]),
        to: 'cancelled',
        error: { code: 'cancelled', message: reason },
        set: { finished_at: sql<Date>`now()`, cancel_requested_at: sql<Date>`coalesce(cancel_requested_at, now())` },
      });
      const live = await db
        .updateTable('tasks')
        .set({ cancel_requested_at: sql<Date>`coalesce(cancel_requested_at, now())` })
        .where('id', 'in', taskIds)
        .where('state', 'in', ['dispatched', 'running'])
        .returning(['id', 'host_id'])
        .execute();
      await askAll(live, reason);
    },
    async resendForHost(hostId) {
      const pending = await db
        .selectFrom('tasks')
        .select(['id', 'host_id'])
        .where('host_id', '=', hostId)
        .where('state', 'in', ['dispatched', 'running'])
        .where('cancel_requested_at', 'is not', null)
        .execute();
      await askAll(pending, RESEND_REASON);
    },
  };
}
