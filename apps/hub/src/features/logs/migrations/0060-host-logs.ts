import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // One narrow row per line: the level as a number (filters compare it), the text as it came.
  // (stream, pos) — the file with its inode, and the byte offset — make a batch sent twice harmless.
  await db.schema
    .createTable('host_logs')
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('pos', 'bigint', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('level', 'smallint', (c) => c.notNull())
    .addColumn('line', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('host_logs_pk', ['host_id', 'stream', 'pos'])
    .execute();
  // Reads and the size retention go per host, newest first; the age retention by time.
  await db.schema.createIndex('host_logs_host_at').on('host_logs').columns(['host_id', 'at']).execute();
  await db.schema.createIndex('host_logs_at').on('host_logs').column('at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('host_logs').execute();
}
