import { sql, type Kysely } from 'kysely';

/**
 * Each event remembers the transaction that wrote it, so event streams can read in an order
 * that commits cannot overtake: `id` is allocated at insert, but the rows become visible at
 * commit, so a stream that polls `id > last` skips an event whose writer committed after a
 * later id's writer. Rows written before this migration all get its transaction id, which
 * keeps them in id order.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('task_events')
    .addColumn('tx', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
    .execute();
  // Streams read one task or one batch in (tx, id) order.
  await db.schema.createIndex('task_events_task_tx').on('task_events').columns(['task_id', 'tx', 'id']).execute();
  await db.schema.createIndex('task_events_batch_tx').on('task_events').columns(['batch_id', 'tx', 'id']).execute();
  await db.schema.dropIndex('task_events_task').execute();
  await db.schema.dropIndex('task_events_batch').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('task_events_task').on('task_events').columns(['task_id', 'id']).execute();
  await db.schema.createIndex('task_events_batch').on('task_events').columns(['batch_id', 'id']).execute();
  await db.schema.dropIndex('task_events_task_tx').execute();
  await db.schema.dropIndex('task_events_batch_tx').execute();
  await db.schema.alterTable('task_events').dropColumn('tx').execute();
}
