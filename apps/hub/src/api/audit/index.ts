import { createRoute, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../api-deps.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { toIso } from '../to-iso.js';

const AuditEntry = z
  .object({
    id: z.number(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    outcome: z.enum(['ok', 'denied', 'error']),
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('AuditEntry');

const list = createRoute({
  method: 'get',
  path: '/audit',
  summary: 'Audit log of every mutating call, newest first',
  request: {
    query: z.object({
      action: z.string().max(100).optional().openapi({ description: 'exact action, e.g. tasks.create' }),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: {
    200: { description: 'Entries', content: { 'application/json': { schema: z.object({ items: z.array(AuditEntry) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

export function auditRoutes({ db }: ApiDeps) {
  const guard = createGuard(db);
  return createRouter().openapi({ ...list, middleware: [guard('viewer', 'audit.list')] }, async (c) => {
    const { action, limit } = c.req.valid('query');
    let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit);
    if (action) q = q.where('action', '=', action);
    const rows = await q.execute();
    return c.json({ items: rows.map((r) => ({ ...r, at: toIso(r.at) })) }, 200);
  });
}
