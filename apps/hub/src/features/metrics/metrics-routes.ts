import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { fleetExposition } from './fleet-exposition.js';
import { fleetFacts } from './fleet-facts.js';
import { metricsHistory } from './metrics-history.js';
import { defaultRetention } from './metrics-retention.js';
import { metricsDb } from './metrics-tables.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** `90s`, `15m`, `1h`, `7d` → seconds. */
export const DurationText = z
  .string()
  .regex(/^\d{1,7}[smhd]$/, 'a duration like 15m, 1h or 7d')
  .transform((v) => Number(v.slice(0, -1)) * UNITS[v.slice(-1)]!);

/** A sample older than this no longer stands for the host in the fleet exposition. */
const FRESH_SEC = 120;

const SeriesSchema = z
  .object({
    key: z.string(),
    name: z.string(),
    labels: z.record(z.string(), z.string()),
    kind: z.enum(['gauge', 'rate']).openapi({ description: 'gauge: the value; rate: a counter’s increase per second' }),
    points: z.array(z.tuple([z.number(), z.number()])).openapi({ description: '[unix seconds, value]' }),
  })
  .openapi('MetricSeries');

const history = createRoute({
  method: 'get',
  path: '/hosts/{id}/metrics',
  summary: 'A host’s metric history: the named metrics (all when none) since a duration ago, one point per step',
  request: {
    params: z.object({ id: z.string().min(1).max(64) }),
    query: z.object({
      names: z.string().max(2000).optional().openapi({ description: 'Comma-separated metric names (kf_host_cpu_percent,…)' }),
      // The document's default must be a value of the documented type (the parsed one is seconds).
      since: DurationText.default(3600).openapi({ type: 'string', example: '1h', default: '1h' }),
      step: DurationText.optional().openapi({ type: 'string', example: '1m' }),
    }),
  },
  responses: {
    200: {
      description: 'History',
      content: {
        'application/json': {
          schema: z
            .object({ hostId: z.string(), stepSec: z.number(), from: z.string(), to: z.string(), series: z.array(SeriesSchema) })
            .openapi('MetricHistory'),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

const fleet = createRoute({
  method: 'get',
  path: '/fleet/metrics',
  summary: 'The newest sample of every host in the Prometheus text format, labelled with host, hostname and the host’s labels',
  responses: {
    200: { description: 'Prometheus text exposition 0.0.4', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses(401, 403),
  },
});

/** The metrics API under /v1; its type gives the CLI a typed client of just these. */
export function metricsRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = metricsDb(coreDb);
  return createRouter()
    .openapi({ ...history, middleware: [guard('viewer', 'metrics.read')] }, async (c) => {
      const { id } = c.req.valid('param');
      const query = c.req.valid('query');
      const host = await db
        .selectFrom('hosts')
        .select('id')
        .where((eb) => eb.or([eb('id', '=', id), eb('hostname', '=', id)]))
        .execute();
      if (host.length === 0) throw new ApiError(404, `host ${id} not found`);
      if (host.length > 1) throw new ApiError(400, `${host.length} hosts are named ${id}; use the host id`);
      const retention = defaultRetention();
      if (query.since > retention.downsampledSec) throw new ApiError(400, `invalid query: since: history is kept for ${retention.downsampledSec} s`);
      const names = (query.names ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '');
      const h = await metricsHistory(coreDb, {
        hostId: host[0]!.id,
        names,
        sinceSec: query.since,
        ...(query.step ? { stepSec: query.step } : {}),
        rawRetentionSec: retention.rawSec,
      });
      return c.json({ hostId: host[0]!.id, stepSec: h.stepSec, from: h.from.toISOString(), to: h.to.toISOString(), series: h.series }, 200);
    })
    .openapi({ ...fleet, middleware: [guard('viewer', 'metrics.read')] }, async (c) => {
      const latest = await sql<{ host_id: string; series: Record<string, number> }>`
        SELECT DISTINCT ON (host_id) host_id, series FROM host_metrics
         WHERE step_sec = 0 AND at > now() - ${FRESH_SEC} * interval '1 second'
         ORDER BY host_id, at DESC`.execute(db);
      const byHost = new Map(latest.rows.map((r) => [r.host_id, r.series]));
      const hosts = await db.selectFrom('hosts').select(['id', 'hostname', 'labels', 'status']).orderBy('id').execute();
      const facts = await fleetFacts(coreDb, hosts);
      const text = fleetExposition(
        hosts.map((h) => {
          // Facts stand for the host even when its agent's samples are stale: a backup's age does not need the agent.
          const series = { ...byHost.get(h.id), ...facts.get(h.id) };
          return { hostId: h.id, hostname: h.hostname, labels: h.labels, online: h.status === 'online', series };
        }),
      );
      return c.text(text, 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    });
}

export type MetricsRoutes = ReturnType<typeof metricsRoutes>;
