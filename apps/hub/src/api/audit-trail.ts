import type { Logger } from '@keyfleet/log';
import type { MiddlewareHandler } from 'hono';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import type { AppEnv } from './app-env.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Writes one audit_log row for every mutating request, whatever its outcome:
 * 2xx/3xx → ok, 401/403 → denied, anything else → error. Routes name the action
 * (via the guard) and may add a target and secret-free detail to `c.var.audit`.
 */
export function auditTrail(db: Kysely<Database>, log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!MUTATING.has(c.req.method)) return next();
    await next();
    const note = c.get('audit');
    const status = c.res.status;
    const outcome = status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : 'error';
    const detail: Record<string, unknown> = { ...note?.detail };
    if (outcome !== 'ok') {
      detail.status = status;
      // Error bodies are written by this API and never carry secrets.
      const body = (await c.res
        .clone()
        .json()
        .catch(() => undefined)) as { error?: unknown } | undefined;
      if (typeof body?.error === 'string') detail.error = body.error;
    }
    try {
      await db
        .insertInto('audit_log')
        .values({
          actor: withoutNul(c.get('actor')?.label ?? 'anonymous'),
          action: withoutNul(note?.action ?? `${c.req.method} ${c.req.path}`),
          target: note?.target === undefined ? null : withoutNul(note.target),
          outcome,
          detail: JSON.stringify(detail, (_key, value: unknown) => (typeof value === 'string' ? withoutNul(value) : value)),
        })
        .execute();
    } catch (err) {
      log.error({ err, action: note?.action, path: c.req.path }, 'cannot write audit log row');
    }
  };
}

/**
 * Postgres refuses NUL in text and jsonb, and a refused request's row must still be written:
 * what a route noted before validation may hold one.
 */
function withoutNul(text: string): string {
  return text.replaceAll('\0', '\uFFFD');
}
