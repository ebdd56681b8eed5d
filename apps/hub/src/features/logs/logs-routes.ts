import { createRoute, z } from '@hono/zod-openapi';
import { type RawBuilder, sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { LOG_LEVEL_NAMES, LOG_LEVELS, type LogLevelName } from './log-levels.js';
import { logsDb } from './logs-tables.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const NAME_OF = new Map(Object.entries(LOG_LEVELS).map(([name, rank]) => [rank as number, name as LogLevelName]));

const LogEntry = z
  .object({
    id: z.string().openapi({ description: 'stream:offset, unique per host (a follower skips what it has seen)' }),
    at: z.string(),
    source: z.enum(['keycloak', 'agent']),
    level: z.enum(LOG_LEVEL_NAMES),
    line: z.string(),
  })
  .openapi('LogLine');

const list = createRoute({
  method: 'get',
  path: '/hosts/{id}/logs',
  summary: 'A host’s Keycloak and agent log lines, oldest first: the newest `limit` lines since a duration ago or a time',
  request: {
    params: z.object({ id: z.string().min(1).max(253).openapi({ description: 'host id or hostname' }) }),
    query: z.object({
      since: z
        .string()
        .regex(/^(\d{1,7}[smhd]|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d))$/, 'a duration like 15m, 1h or 7d, or an ISO time')
        .default('1h')
        .openapi({ example: '1h' }),
      level: z.enum(LOG_LEVEL_NAMES).optional().openapi({ description: 'this level and worse' }),
      grep: z.string().min(1).max(200).optional().openapi({ description: 'text the line contains (case-insensitive)' }),
      limit: z.coerce.number().int().min(1).max(5000).default(500),
    }),
  },
  responses: {
    200: { description: 'Lines', content: { 'application/json': { schema: z.object({ items: z.array(LogEntry) }) } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

interface LogRow {
  stream: string;
  pos: string;
  source: 'keycloak' | 'agent';
  at: Date;
  level: number;
  line: string;
}

/** The log lines API under /v1; its type gives the CLI a typed client of just this route. */
export function logsRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = logsDb(coreDb);
  return createRouter().openapi({ ...list, middleware: [guard('viewer', 'logs.read')] }, async (c) => {
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    const hosts = await db
      .selectFrom('hosts')
      .select('id')
      .where((eb) => eb.or([eb('id', '=', id), eb('hostname', '=', id)]))
      .execute();
    if (hosts.length === 0) throw new ApiError(404, `host ${id} not found`);
    if (hosts.length > 1) throw new ApiError(400, `${hosts.length} hosts are named ${id}; use the host id`);
    const duration = /^\d+[smhd]$/.test(q.since);
    const sinceTime = duration ? undefined : new Date(q.since);
    if (sinceTime && Number.isNaN(sinceTime.getTime())) throw new ApiError(400, 'invalid query: since: not a time');
    const filters: RawBuilder<unknown>[] = [
      sql`host_id = ${hosts[0]!.id}`,
      duration
        ? sql`at >= now() - ${Number(q.since.slice(0, -1)) * UNITS[q.since.slice(-1)]!} * interval '1 second'`
        : sql`at >= ${sinceTime!.toISOString()}::timestamptz`,
    ];
    if (q.level) filters.push(sql`level >= ${LOG_LEVELS[q.level]}`);
    if (q.grep) filters.push(sql`line ILIKE ${`%${q.grep.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`}`);
    // The newest `limit` lines, handed back oldest first as a log reads.
    const { rows } = await sql<LogRow>`
      SELECT * FROM (
        SELECT stream, pos, source, at, level, line FROM host_logs WHERE ${sql.join(filters, sql` AND `)}
         ORDER BY at DESC, stream DESC, pos DESC LIMIT ${q.limit}
      ) t ORDER BY at, stream, pos`.execute(db);
    return c.json(
      {
        items: rows.map((r) => ({
          id: `${r.stream}:${r.pos}`,
          at: new Date(r.at).toISOString(),
          source: r.source,
          level: NAME_OF.get(Number(r.level)) ?? 'info',
          line: r.line,
        })),
      },
      200,
    );
  });
}

export type LogsRoutes = ReturnType<typeof logsRoutes>;
