import { createRoute, z } from '@hono/zod-openapi';
import { type RawBuilder, sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { eventsDb } from './events-tables.js';

const KINDS = ['api', 'task', 'admin', 'login'] as const;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

const TrailEntry = z
  .object({
    at: z.string(),
    kind: z.enum(KINDS).openapi({ description: 'api: a call to the hub; task: a task run; admin / login: an event of a host’s Keycloak' }),
    hostId: z.string().nullable(),
    hostname: z.string().nullable(),
    realm: z.string().nullable(),
    actor: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    outcome: z.enum(['ok', 'denied', 'error']),
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('AuditTrailEntry');

const trail = createRoute({
  method: 'get',
  path: '/audit/trail',
  summary: 'One audit trail, newest first: calls to the hub, task runs, and the admin and login events of every managed Keycloak',
  request: {
    query: z.object({
      host: z.string().max(253).optional().openapi({ description: 'host id or hostname' }),
      realm: z.string().max(255).optional(),
      kind: z
        .string()
        .regex(/^(api|task|admin|login)(,(api|task|admin|login))*$/, 'comma-separated kinds: api, task, admin, login')
        .optional()
        .openapi({ example: 'admin,login' }),
      actor: z.string().max(300).optional().openapi({ description: 'part of the actor’s name (case-insensitive)' }),
      since: z
        .string()
        .regex(/^\d{1,7}[smhd]$/, 'a duration like 15m, 1h or 7d')
        .default('7d')
        .openapi({ example: '1h' }),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: {
    200: { description: 'Entries', content: { 'application/json': { schema: z.object({ items: z.array(TrailEntry) }) } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

interface TrailRow {
  at: Date;
  kind: (typeof KINDS)[number];
  host_id: string | null;
  hostname: string | null;
  realm: string | null;
  actor: string | null;
  action: string;
  target: string | null;
  outcome: 'ok' | 'denied' | 'error';
  detail: Record<string, unknown> | null;
}

/** The joined audit trail under /v1; its type gives the CLI a typed client of just this route. */
export function auditTrailRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = eventsDb(coreDb);
  return createRouter().openapi({ ...trail, middleware: [guard('viewer', 'audit.trail')] }, async (c) => {
    const q = c.req.valid('query');
    const sinceSec = Number(q.since.slice(0, -1)) * UNITS[q.since.slice(-1)]!;
    const since = sql`now() - ${sinceSec} * interval '1 second'`;
    const filters: RawBuilder<unknown>[] = [];
    if (q.host) {
      const host = await db
        .selectFrom('hosts')
        .select('id')
        .where((eb) => eb.or([eb('id', '=', q.host!), eb('hostname', '=', q.host!)]))
        .executeTakeFirst();
      if (!host) throw new ApiError(404, `no host ${q.host}`);
      filters.push(sql`t.host_id = ${host.id}`);
    }
    if (q.realm) filters.push(sql`t.realm = ${q.realm}`);
    if (q.kind) filters.push(sql`t.kind IN (${sql.join(q.kind.split(','))})`);
    if (q.actor) filters.push(sql`t.actor ILIKE ${`%${q.actor.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`}`);
    const where = filters.length > 0 ? sql`WHERE ${sql.join(filters, sql` AND `)}` : sql``;
    // Each source is read from `since` on its own index; the outer filters apply to the joined rows.
    const { rows } = await sql<TrailRow>`
      SELECT * FROM (
        SELECT a.at, 'api' AS kind, h.id AS host_id, h.hostname, a.detail->>'realm' AS realm, a.actor, a.action, a.target, a.outcome, a.detail
          FROM audit_log a LEFT JOIN hosts h ON h.id = COALESCE(a.detail->>'hostId', a.target)
         WHERE a.at >= ${since}
        UNION ALL
        SELECT k.finished_at, 'task', k.host_id, h.hostname, k.params->>'realm', b.created_by, k.type, k.id,
               CASE k.state WHEN 'succeeded' THEN 'ok' ELSE 'error' END,
               jsonb_strip_nulls(jsonb_build_object('state', k.state, 'error', k.error->>'message', 'batch', k.batch_id))
          FROM tasks k JOIN task_batches b ON b.id = k.batch_id LEFT JOIN hosts h ON h.id = k.host_id
         WHERE k.finished_at >= ${since}
        UNION ALL
        SELECT e.at, e.source, e.host_id, h.hostname, e.realm, e.actor, e.type, COALESCE(e.resource, e.client_id),
               CASE WHEN e.error IS NULL THEN 'ok' WHEN e.source = 'login' THEN 'denied' ELSE 'error' END,
               COALESCE(e.details, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object('client', e.client_id, 'ip', e.ip, 'error', e.error))
          FROM keycloak_events e LEFT JOIN hosts h ON h.id = e.host_id
         WHERE e.at >= ${since}
      ) t ${where}
      ORDER BY t.at DESC
      LIMIT ${q.limit}`.execute(db);
    return c.json(
      {
        items: rows.map((r) => ({
          at: new Date(r.at).toISOString(),
          kind: r.kind,
          hostId: r.host_id,
          hostname: r.hostname,
          realm: r.realm,
          actor: r.actor,
          action: r.action,
          target: r.target,
          outcome: r.outcome,
          detail: r.detail,
        })),
      },
      200,
    );
  });
}

export type AuditTrailRoutes = ReturnType<typeof auditTrailRoutes>;
