import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool, type UpdateObject } from 'kysely';
import type { TaskState } from '@keyfleet/proto/v1';
import type { Database } from '../store/database.js';

export interface TaskTransition {
  /** Which tasks move; include the allowed source states so the update is idempotent across hubs. */
  where: (eb: ExpressionBuilder<Database, 'tasks'>) => Expression<SqlBool>;
  to: TaskState;
  error?: { code: string; message: string };
  /** Further columns to set together with the state. */
  set?: UpdateObject<Database, 'tasks'>;
}

/**
 * Moves tasks to a new state and writes their `state` events in the same
 * statement, so a state change never exists without its event. A conditional
 * UPDATE means several hubs may run the same transition safely: only one wins
 * each row. Rows are locked in id order first, as every multi-row task write does, so
 * concurrent batches (dispatch outcomes, progress, results) queue behind each other
 * instead of deadlocking. Returns the ids that changed.
 */
export async function transitionTasks(db: Kysely<Database>, t: TaskTransition): Promise<string[]> {
  const event = JSON.stringify(t.error ? { state: t.to, error: t.error } : { state: t.to });
  const rows = await db
    .with('locked', (qb) => qb.selectFrom('tasks').select('id').where(t.where).orderBy('id').forUpdate())
    .with('changed', (qb) =>
      qb
        .updateTable('tasks')
        .set({ ...t.set, state: t.to, ...(t.error ? { error: JSON.stringify(t.error) } : {}) })
        .where((eb) => eb.and([eb('id', 'in', eb.selectFrom('locked').select('locked.id')), t.where(eb)]))
        .returning(['id', 'batch_id']),
    )
    .insertInto('task_events')
    .columns(['task_id', 'batch_id', 'kind', 'data'])
    .expression((eb) =>
      eb.selectFrom('changed').select(['changed.id', 'changed.batch_id', sql<'state'>`'state'`.as('kind'), sql<string>`${event}::jsonb`.as('data')]),
    )
    .returning('task_id')
    .execute();
  return rows.map((r) => r.task_id);
}
