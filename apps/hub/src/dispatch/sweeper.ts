import { sql, type Kysely } from 'kysely';
import type { Logger } from '@keyfleet/log';
import type { Database } from '../store/database.js';
import { transitionTasks } from './transition-tasks.js';

export interface Sweeper {
  /** One pass: expire, time out, mark hosts offline. */
  sweep(): Promise<void>;
}

const EXPIRED = { code: 'expired', message: 'host did not pick up the task before it expired' };
const TIMED_OUT = { code: 'timeout', message: 'no result from the agent within the timeout (agent stopped or lost?)' };

/**
 * Applies the deadlines that no agent message will trigger. Every change is a
 * conditional UPDATE on the database clock, so several hubs may sweep at once.
 */
export function createSweeper(deps: { db: Kysely<Database>; log: Logger; resultGraceMs: number; offlineAfterMissedHeartbeats: number }): Sweeper {
  const { db, log } = deps;
  return {
    async sweep() {
      const expired = await transitionTasks(db, {
        where: (eb) => eb.and([eb('state', '=', 'queued'), eb('expires_at', '<=', sql<Date>`now()`)]),
        to: 'expired',
        error: EXPIRED,
        set: { finished_at: sql<Date>`now()` },
      });
      if (expired.length > 0) log.info({ count: expired.length, taskIds: expired.slice(0, 20) }, 'tasks expired while queued');

      const timedOut = await transitionTasks(db, {
        where: (eb) =>
          eb.and([
            eb('state', 'in', ['dispatched', 'running']),
            sql<boolean>`coalesce(started_at, dispatched_at) + (timeout_ms + ${deps.resultGraceMs}) * interval '1 millisecond' < now()`,
          ]),
        to: 'failed',
        error: TIMED_OUT,
        set: { finished_at: sql<Date>`now()` },
      });
      if (timedOut.length > 0) log.warn({ count: timedOut.length, taskIds: timedOut.slice(0, 20) }, 'tasks failed: no result within the timeout');

      const offline = await db
        .updateTable('hosts')
        .set({ status: 'offline' })
        .where('status', '=', 'online')
        .where(
          sql<boolean>`coalesce(last_heartbeat_at, last_hello_at, enrolled_at) < now() - ${deps.offlineAfterMissedHeartbeats} * heartbeat_interval_ms * interval '1 millisecond'`,
        )
        .returning('id')
        .execute();
      for (const h of offline) log.warn({ hostId: h.id }, `host offline: missed ${deps.offlineAfterMissedHeartbeats} heartbeats`);
    },
  };
}
