import { sql, type Kysely } from 'kysely';
import type { Logger } from '@keyfleet/log';
import type { Progress } from '@keyfleet/proto/v1';
import { TERMINAL_STATES, type Database } from '../store/database.js';
import { MessageRejected } from './message-rejected.js';
import { transitionTasks } from './transition-tasks.js';

/**
 * `started` moves the task to running. Any progress also implies running: the
 * `started` message is a plain publish and may have been lost.
 */
export async function handleProgress(db: Kysely<Database>, log: Logger, hostId: string, p: Progress): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const task = await trx.selectFrom('tasks').select(['state', 'host_id', 'batch_id']).where('id', '=', p.taskId).forUpdate().executeTakeFirst();
    if (!task || task.host_id !== hostId) throw new MessageRejected(`task ${p.taskId} is not a task of host ${hostId}`);
    if (TERMINAL_STATES.includes(task.state)) {
      log.debug({ taskId: p.taskId, state: task.state, stage: p.stage }, 'progress for a terminal task ignored');
      return;
    }
    if (task.state !== 'running') {
      await transitionTasks(trx, {
        where: (eb) => eb.and([eb('id', '=', p.taskId), eb('state', 'in', ['queued', 'dispatched'])]),
        to: 'running',
        set: { started_at: sql<Date>`coalesce(started_at, now())` },
      });
    }
    if (p.percent === undefined && p.message === undefined) return;
    const progress = JSON.stringify({ percent: p.percent, message: p.message });
    await trx.updateTable('tasks').set({ progress }).where('id', '=', p.taskId).execute();
    await trx.insertInto('task_events').values({ task_id: p.taskId, batch_id: task.batch_id, kind: 'progress', data: progress }).execute();
  });
}
