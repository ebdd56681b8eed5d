import { createRoute, z } from '@hono/zod-openapi';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { parseSelector } from '../../api/parse-selector.js';
import { SelectorSchema } from '../../api/selector-schema.js';
import { hardeningDb, type MaintenanceTask } from './hardening-tables.js';

const Updates = taskDefinitions['maintenance.updates'].output;
const Scan = taskDefinitions['maintenance.scan'].output;
const KeycloakVersion = taskDefinitions['maintenance.keycloak-version'].output;
const Logs = taskDefinitions['maintenance.logs'].output;
type Reports = {
  updates: z.infer<typeof Updates> | null;
  scan: z.infer<typeof Scan> | null;
  keycloakVersion: z.infer<typeof KeycloakVersion> | null;
  logs: z.infer<typeof Logs> | null;
};

const withTask = <T extends z.ZodType>(s: T) => z.object({ taskId: z.string(), report: s }).nullable();

const HostMaintenance = z
  .object({
    hostId: z.string(),
    hostname: z.string(),
    updates: withTask(Updates),
    scan: withTask(Scan),
    keycloakVersion: withTask(KeycloakVersion),
    logs: withTask(Logs),
  })
  .openapi('HostMaintenance');

const MaintenanceSummary = z
  .object({
    hostId: z.string(),
    hostname: z.string(),
    upgradable: z.number().nullable(),
    security: z.number().nullable(),
    rebootRequired: z.boolean().nullable(),
    updatesCheckedAt: z.string().nullable(),
    scanScore: z.number().nullable(),
    lynisIndex: z.number().nullable(),
    scannedAt: z.string().nullable(),
    keycloakVersion: z.string().nullable(),
    versionStatus: z.enum(['allowed', 'not-allowed', 'not-installed']).nullable(),
    logsRotatedAt: z.string().nullable().openapi({ description: 'when the last log rotation ran' }),
  })
  .openapi('MaintenanceSummary');

const list = createRoute({
  method: 'get',
  path: '/maintenance/hosts',
  summary: 'The fleet’s upkeep: each host’s pending updates (security ones, reboot needed), last Lynis score, Keycloak version verdict (null until reported)',
  request: { query: z.object({ selector: SelectorSchema.optional() }) },
  responses: {
    200: { description: 'Hosts', content: { 'application/json': { schema: z.object({ items: z.array(MaintenanceSummary) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const get = createRoute({
  method: 'get',
  path: '/hosts/{id}/maintenance',
  summary: 'One host’s last report of each maintenance task: OS updates, Lynis scan, Keycloak version, log rotation',
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    200: { description: 'Host maintenance', content: { 'application/json': { schema: HostMaintenance } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const KEYS: Record<MaintenanceTask, keyof Reports> = {
  'maintenance.updates': 'updates',
  'maintenance.scan': 'scan',
  'maintenance.keycloak-version': 'keycloakVersion',
  'maintenance.logs': 'logs',
};

/** The maintenance read model: the fleet table and one host's last reports. */
export function maintenanceRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = hardeningDb(coreDb);
  /** Reports by host id, each with the task that made it. */
  const reportsOf = async (hostIds: string[]) => {
    const out = new Map<string, { [K in keyof Reports]: { taskId: string; report: NonNullable<Reports[K]> } | null }>();
    if (hostIds.length === 0) return out;
    const rows = await db.selectFrom('maintenance_reports').select(['host_id', 'task_type', 'report', 'task_id']).where('host_id', 'in', hostIds).execute();
    for (const id of hostIds) out.set(id, { updates: null, scan: null, keycloakVersion: null, logs: null });
    for (const r of rows) Object.assign(out.get(r.host_id)!, { [KEYS[r.task_type]]: { taskId: r.task_id, report: r.report } });
    return out;
  };
  return createRouter()
    .openapi({ ...list, middleware: [guard('viewer', 'maintenance.hosts.list')] }, async (c) => {
      const { selector } = c.req.valid('query');
      let q = db.selectFrom('hosts').select(['id', 'hostname']).orderBy('hostname').orderBy('id');
      if (selector) q = q.where(sql<boolean>`labels @> ${JSON.stringify(parseSelector(selector))}::jsonb`);
      const hosts = await q.execute();
      const reports = await reportsOf(hosts.map((h) => h.id));
      const items = hosts.map((h) => {
        const { updates, scan, keycloakVersion, logs } = reports.get(h.id)!;
        return {
          hostId: h.id,
          hostname: h.hostname,
          upgradable: updates?.report.packages.length ?? null,
          security: updates?.report.security ?? null,
          rebootRequired: updates?.report.rebootRequired ?? null,
          updatesCheckedAt: updates?.report.checkedAt ?? null,
          scanScore: scan?.report.score ?? null,
          lynisIndex: scan?.report.hardeningIndex ?? null,
          scannedAt: scan?.report.checkedAt ?? null,
          keycloakVersion: keycloakVersion?.report.version ?? null,
          versionStatus: keycloakVersion?.report.status ?? null,
          logsRotatedAt: logs?.report.checkedAt ?? null,
        };
      });
      return c.json({ items }, 200);
    })
    .openapi({ ...get, middleware: [guard('viewer', 'maintenance.hosts.get')] }, async (c) => {
      const { id } = c.req.valid('param');
      const host = await db.selectFrom('hosts').select(['id', 'hostname']).where('id', '=', id).executeTakeFirst();
      if (!host) throw new ApiError(404, `host ${id} not found`);
      return c.json({ hostId: host.id, hostname: host.hostname, ...(await reportsOf([host.id])).get(host.id)! }, 200);
    });
}
