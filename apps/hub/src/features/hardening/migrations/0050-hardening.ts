import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The last hardening report per host (from audit, apply or rollback results).
  await db.schema
    .createTable('hardening_hosts')
    .addColumn('host_id', 'text', (c) => c.primaryKey().references('hosts.id').onDelete('cascade'))
    .addColumn('report', 'jsonb', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('checked_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // Every change of a rule's status between two reports; `cause` hardening.audit = drift found by an audit.
  await db.schema
    .createTable('hardening_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('cause', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('changes', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('hardening_events_host_at').on('hardening_events').columns(['host_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('hardening_events').execute();
  await db.schema.dropTable('hardening_hosts').execute();
}
