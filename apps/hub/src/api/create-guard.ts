import type { MiddlewareHandler } from 'hono';
import type { Kysely } from 'kysely';
import { hashSecretToken } from '../auth/secret-token.js';
import type { Database, Role } from '../store/database.js';
import type { AppEnv } from './app-env.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export type Guard = (role: Role, action: string) => MiddlewareHandler<AppEnv>;

/**
 * Per-route authentication and authorization. The route names the least role it
 * needs and the action the audit trail records, so a refusal is audited under the
 * same action as a success.
 */
export function createGuard(db: Kysely<Database>): Guard {
  return (role, action) => async (c, next) => {
    c.set('audit', { action });
    const header = c.req.header('authorization');
    const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!token) {
      c.header('WWW-Authenticate', 'Bearer');
      return c.json({ error: 'missing API token: send "Authorization: Bearer kf_..."' }, 401);
    }
    const row = token.startsWith('kf_')
      ? await db
          .selectFrom('api_tokens')
          .select(['id', 'name', 'role'])
          .where('token_hash', '=', hashSecretToken(token))
          .where('revoked_at', 'is', null)
          .executeTakeFirst()
      : undefined;
    if (!row) {
      c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      return c.json({ error: 'invalid or revoked API token' }, 401);
    }
    c.set('actor', { label: `${row.name} (${row.id})`, tokenId: row.id });
    if (RANK[row.role] < RANK[role]) {
      return c.json({ error: `forbidden: ${action} needs role ${role} or higher; token "${row.name}" has role ${row.role}` }, 403);
    }
    // Coarse on purpose: one write per token per minute, not per request.
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: new Date() })
      .where('id', '=', row.id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(Date.now() - 60_000))]))
      .execute();
    await next();
  };
}
