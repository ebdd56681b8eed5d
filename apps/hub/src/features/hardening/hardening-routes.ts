import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { parseSelector } from '../../api/parse-selector.js';
import { SelectorSchema } from '../../api/selector-schema.js';
import { HardeningEventSchema, HardeningReportSchema } from './hardening-schemas.js';
import { hardeningDb } from './hardening-tables.js';

const HardeningHostSummary = z
  .object({
    hostId: z.string(),
    hostname: z.string(),
    score: z.number().nullable(),
    failing: z.array(z.string()).openapi({ description: 'rules that fail or could not be checked' }),
    checkedAt: z.string().nullable(),
    taskId: z.string().nullable(),
  })
  .openapi('HardeningHostSummary');

const list = createRoute({
  method: 'get',
  path: '/hardening/hosts',
  summary: 'The fleet’s hardening: each host’s last score and failing rules (null until a hardening task reported)',
  request: { query: z.object({ selector: SelectorSchema.optional() }) },
  responses: {
    200: { description: 'Hosts', content: { 'application/json': { schema: z.object({ items: z.array(HardeningHostSummary) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const get = createRoute({
  method: 'get',
  path: '/hosts/{id}/hardening',
  summary: 'One host’s last hardening report and the status changes recorded (drift found by audits, applies, rollbacks), newest first',
  request: {
    params: z.object({ id: z.string().min(1).max(64) }),
    query: z.object({ events: z.coerce.number().int().min(0).max(500).default(50) }),
  },
  responses: {
    200: {
      description: 'Host hardening',
      content: {
        'application/json': {
          schema: z
            .object({
              hostId: z.string(),
              hostname: z.string(),
              report: HardeningReportSchema.nullable(),
              taskId: z.string().nullable(),
              events: z.array(HardeningEventSchema),
            })
            .openapi('HostHardening'),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

/** The hardening read model: the fleet table and one host's report with its drift history. */
export function hardeningRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = hardeningDb(coreDb);
  const rows = () =>
    db
      .selectFrom('hosts')
      .leftJoin('hardening_hosts', 'hardening_hosts.host_id', 'hosts.id')
      .select(['hosts.id as hostId', 'hosts.hostname', 'hardening_hosts.report', 'hardening_hosts.task_id as taskId'])
      .orderBy('hosts.hostname')
      .orderBy('hosts.id');
  return createRouter()
    .openapi({ ...list, middleware: [guard('viewer', 'hardening.hosts.list')] }, async (c) => {
      const { selector } = c.req.valid('query');
      let q = rows();
      if (selector) q = q.where(sql<boolean>`hosts.labels @> ${JSON.stringify(parseSelector(selector))}::jsonb`);
      const items = (await q.execute()).map((r) => ({
        hostId: r.hostId,
        hostname: r.hostname,
        score: r.report?.score ?? null,
        failing: (r.report?.findings ?? []).filter((f) => f.status === 'fail' || f.status === 'error').map((f) => f.rule),
        checkedAt: r.report?.checkedAt ?? null,
        taskId: r.taskId ?? null,
      }));
      return c.json({ items }, 200);
    })
    .openapi({ ...get, middleware: [guard('viewer', 'hardening.hosts.get')] }, async (c) => {
      const { id } = c.req.valid('param');
      const { events: limit } = c.req.valid('query');
      const row = await rows().where('hosts.id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `host ${id} not found`);
      const events = await db
        .selectFrom('hardening_events')
        .select(['at', 'cause', 'task_id', 'changes'])
        .where('host_id', '=', id)
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return c.json(
        {
          hostId: row.hostId,
          hostname: row.hostname,
          report: row.report ?? null,
          taskId: row.taskId ?? null,
          events: events.map((e) => ({ at: iso(e.at), cause: e.cause, taskId: e.task_id, changes: e.changes })),
        },
        200,
      );
    });
}

export type HardeningRoutes = ReturnType<typeof hardeningRoutes>;
