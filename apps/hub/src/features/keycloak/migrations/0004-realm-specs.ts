import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Every successfully applied realm spec, per host and realm; specs hold secret references only.
  await db.schema
    .createTable('realm_specs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('realm', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('spec', 'jsonb', (c) => c.notNull())
    .addColumn('changes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    // Task history may be pruned; the spec version outlives its task.
    .addColumn('task_id', 'text', (c) => c.references('tasks.id').onDelete('set null'))
    .addColumn('applied_at', 'timestamptz', (c) => c.notNull())
    .addColumn('applied_by', 'text', (c) => c.notNull())
    .addUniqueConstraint('realm_specs_host_realm_version', ['host_id', 'realm', 'version'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('realm_specs').execute();
}
