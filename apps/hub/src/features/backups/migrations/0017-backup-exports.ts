import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Realm exports made by drills on request: encrypted like backups, one object each, gone with their backup.
  await db.schema
    .createTable('backup_exports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('backup_id', 'text', (c) => c.notNull().references('backups.id').onDelete('cascade'))
    .addColumn('task_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('running', 'stored', 'failed', 'pruned')`))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('recipients', 'jsonb', (c) => c.notNull())
    .addColumn('storage_kind', 'text', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('upload_token_hash', 'text')
    .addColumn('upload_expires_at', 'timestamptz')
    .addColumn('upload_state', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('upload_id', 'text')
    .addColumn('received_size', 'bigint')
    .addColumn('received_sha256', 'text')
    .addColumn('size_bytes', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('realms', 'jsonb')
    .execute();
  await db.schema.createIndex('backup_exports_backup').on('backup_exports').columns(['backup_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backup_exports').execute();
}
