import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // One row per host per interval holding every series (jsonb), not one row per sample: 30
  // series at 15 s are 5,760 rows a host a day instead of 172,800. step_sec 0 is the raw sample;
  // 300 the 5-minute rows kept for a month. Rows go with their host.
  await db.schema
    .createTable('host_metrics')
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('step_sec', 'integer', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('series', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('host_metrics_pk', ['host_id', 'step_sec', 'at'])
    .execute();
  // Retention and downsampling walk by age across hosts.
  await db.schema.createIndex('host_metrics_age').on('host_metrics').columns(['step_sec', 'at']).execute();
  await sql`ALTER TABLE host_metrics SET (fillfactor = 100)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('host_metrics').execute();
}
