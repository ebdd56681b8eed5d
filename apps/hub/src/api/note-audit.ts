import type { Context } from 'hono';
import type { AppEnv, AuditNote } from './app-env.js';

/** Adds what a route learned (target, secret-free detail) to the request's audit row. */
export function noteAudit(c: Context<AppEnv>, note: Partial<AuditNote>): void {
  const current = c.get('audit');
  c.set('audit', {
    action: note.action ?? current?.action ?? `${c.req.method} ${c.req.path}`,
    target: note.target ?? current?.target,
    detail: { ...current?.detail, ...note.detail },
  });
}
