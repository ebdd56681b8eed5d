import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // DNS-01 (with its provider's settings; a TSIG secret only by its name in the secret store) and
  // the internal CA, which needs no challenge ('none').
  await sql`ALTER TABLE certificates DROP CONSTRAINT IF EXISTS certificates_challenge_check`.execute(db);
  await sql`ALTER TABLE certificates ADD CONSTRAINT certificates_challenge_check CHECK (challenge IN ('http-01', 'dns-01', 'none'))`.execute(db);
  // The CA's renewal window (ACME Renewal Information) behind next_attempt_at, and when to ask the
  // CA again whether it moved (its Retry-After).
  await db.schema
    .alterTable('certificates')
    .addColumn('dns', 'jsonb')
    .addColumn('renewal_window_start', 'timestamptz')
    .addColumn('renewal_window_end', 'timestamptz')
    .addColumn('renewal_check_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('certificates')
    .dropColumn('dns')
    .dropColumn('renewal_window_start')
    .dropColumn('renewal_window_end')
    .dropColumn('renewal_check_at')
    .execute();
  await sql`ALTER TABLE certificates DROP CONSTRAINT IF EXISTS certificates_challenge_check`.execute(db);
  await sql`ALTER TABLE certificates ADD CONSTRAINT certificates_challenge_check CHECK (challenge IN ('http-01'))`.execute(db);
}
