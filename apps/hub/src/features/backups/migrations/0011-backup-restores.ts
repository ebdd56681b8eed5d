import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // A single-use token fetches either the ciphertext (drills) or, for a restore, the plaintext the
  // hub decrypts with the identity the operator named (the target host never holds it).
  await db.schema
    .alterTable('backup_downloads')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('ciphertext'))
    .addColumn('identity_secret', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('backup_downloads').dropColumn('kind').dropColumn('identity_secret').execute();
}
