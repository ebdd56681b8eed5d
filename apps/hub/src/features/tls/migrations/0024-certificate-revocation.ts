import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // A revoked certificate: no more renewals or retries; when and why it was revoked (the reason
  // code the CA was given, or the internal CA's CRL lists).
  await sql`ALTER TABLE certificates DROP CONSTRAINT IF EXISTS certificates_state_check`.execute(db);
  await sql`ALTER TABLE certificates ADD CONSTRAINT certificates_state_check CHECK (state IN ('pending', 'issuing', 'valid', 'failed', 'revoked'))`.execute(db);
  await db.schema.alterTable('certificates').addColumn('revoked_at', 'timestamptz').addColumn('revocation_reason', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('certificates').dropColumn('revoked_at').dropColumn('revocation_reason').execute();
  await sql`ALTER TABLE certificates DROP CONSTRAINT IF EXISTS certificates_state_check`.execute(db);
  await sql`ALTER TABLE certificates ADD CONSTRAINT certificates_state_check CHECK (state IN ('pending', 'issuing', 'valid', 'failed'))`.execute(db);
}
