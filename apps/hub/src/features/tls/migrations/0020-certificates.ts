import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // One row per certificate a host serves. Only public material is stored (the key stays on the
  // host); `next_attempt_at` drives issuance, renewal and retries, `lease_until` lets any hub
  // claim due work without two hubs issuing the same certificate.
  await db.schema
    .createTable('certificates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('domains', 'jsonb', (c) => c.notNull())
    .addColumn('issuer', 'jsonb', (c) => c.notNull())
    .addColumn('challenge', 'text', (c) => c.notNull().check(sql`challenge IN ('http-01')`))
    .addColumn('key_type', 'text', (c) => c.notNull())
    .addColumn('http01_port', 'integer', (c) => c.notNull())
    .addColumn('https_port', 'integer', (c) => c.notNull())
    .addColumn('reload_period', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('pending', 'issuing', 'valid', 'failed')`))
    .addColumn('serial', 'text')
    .addColumn('not_before', 'timestamptz')
    .addColumn('not_after', 'timestamptz')
    .addColumn('certificate_pem', 'text')
    .addColumn('served_serial', 'text')
    .addColumn('served_not_after', 'timestamptz')
    .addColumn('served_checked_at', 'timestamptz')
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('last_issued_ms', 'integer')
    .addColumn('lease_until', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('certificates_due').on('certificates').column('next_attempt_at').execute();
  await db.schema.createIndex('certificates_host').on('certificates').column('host_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('certificates').execute();
}
