import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import { newId } from '../store/new-id.js';
import { generateSecretToken } from './secret-token.js';

const INITIAL_ADMIN_TOKEN_NAME = 'initial-admin';

/**
 * On a database with no API tokens at all, creates the `initial-admin` token and
 * returns it (the only time it is ever visible). Returns undefined otherwise.
 * A transaction-scoped advisory lock keeps two hubs starting together from both
 * creating one.
 */
export async function bootstrapAdminToken(db: Kysely<Database>): Promise<string | undefined> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('keyfleet.bootstrap-admin-token'))`.execute(trx);
    const existing = await trx.selectFrom('api_tokens').select('id').limit(1).executeTakeFirst();
    if (existing) return undefined;
    const { token, hash } = generateSecretToken('kf_');
    await trx
      .insertInto('api_tokens')
      .values({ id: newId('tok'), name: INITIAL_ADMIN_TOKEN_NAME, role: 'admin', token_hash: hash, created_by: 'bootstrap' })
      .execute();
    return token;
  });
}
