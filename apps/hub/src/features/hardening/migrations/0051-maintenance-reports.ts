import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Each host's last report of each maintenance task (OS updates, Lynis scan, Keycloak version).
  await db.schema
    .createTable('maintenance_reports')
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('task_type', 'text', (c) => c.notNull())
    .addColumn('report', 'jsonb', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('checked_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('maintenance_reports_pk', ['host_id', 'task_type'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('maintenance_reports').execute();
}
