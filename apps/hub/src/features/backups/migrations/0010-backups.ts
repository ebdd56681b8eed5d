import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The fleet's backup recipients: age public keys only; retired ones stay for the record.
  await db.schema
    .createTable('backup_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'timestamptz')
    .execute();

  // The catalog. No foreign key to hosts: a backup outlives its host (that is the disaster case).
  await db.schema
    .createTable('backups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text')
    .addColumn('schedule_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('running', 'stored', 'verified', 'failed', 'pruned')`))
    .addColumn('error', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('size_bytes', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('recipients', 'jsonb', (c) => c.notNull())
    .addColumn('keycloak_version', 'text')
    .addColumn('manifest', 'jsonb')
    .addColumn('storage_kind', 'text', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    // The upload: a single-use token (its hash only), what the hub received, an S3 multipart id.
    .addColumn('upload_token_hash', 'text')
    .addColumn('upload_expires_at', 'timestamptz')
    .addColumn('upload_state', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('upload_id', 'text')
    .addColumn('received_size', 'bigint')
    .addColumn('received_sha256', 'text')
    .addColumn('last_drill', 'jsonb')
    .addColumn('verified_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('backups_host_started').on('backups').columns(['host_id', 'started_at']).execute();

  // Single-use download tokens for drills (hash only).
  await db.schema
    .createTable('backup_downloads')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('backup_id', 'text', (c) => c.notNull().references('backups.id').onDelete('cascade'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backup_downloads').execute();
  await db.schema.dropTable('backups').execute();
  await db.schema.dropTable('backup_keys').execute();
}
