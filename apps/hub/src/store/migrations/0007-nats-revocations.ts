import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Every agent credential taken back, by its NATS user key. Rows outlive their host (a
  // decommissioned host is deleted): the hub re-signs the NATS account with all of them.
  await db.schema
    .createTable('nats_revocations')
    .addColumn('nkey_public', 'text', (c) => c.primaryKey())
    .addColumn('host_id', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`reason in ('decommissioned', 'revoked')`))
    .addColumn('revoked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_by', 'text')
    .execute();
  // A hello from a revoked host is answered by host id.
  await db.schema.createIndex('nats_revocations_host').on('nats_revocations').column('host_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('nats_revocations').execute();
}
