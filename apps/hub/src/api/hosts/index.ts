import { createRoute, z } from '@hono/zod-openapi';
import { sql, type Selectable } from 'kysely';
import type { HostsTable } from '../../store/database.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { LabelsSchema } from '../labels-schema.js';
import { noteAudit } from '../note-audit.js';
import { parseSelector } from '../parse-selector.js';
import { toIso } from '../to-iso.js';

const HostStatus = z.enum(['pending', 'online', 'offline']);

const HostKeycloak = z
  .object({
    installed: z.boolean(),
    version: z.string().optional(),
    runtime: z.enum(['docker', 'process']).optional(),
    ready: z.boolean().optional(),
    baseUrl: z.string().optional(),
    realms: z.array(z.string()).optional(),
    uptimeSec: z.number().optional(),
    updatedAt: z.string(),
    taskId: z.string(),
  })
  .openapi('HostKeycloak', { description: 'what the last Keycloak task reported; null until one did' });

const HostVerification = z
  .object({
    ok: z.boolean(),
    checkedAt: z.string(),
    checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string(), ms: z.number() })),
    error: z.string().optional().openapi({ description: 'set when the verifying task failed' }),
    taskId: z.string(),
  })
  .openapi('HostVerification', { description: 'the last keycloak.verify outcome (also run by install and update)' });

const Host = z
  .object({
    id: z.string(),
    hostname: z.string(),
    labels: LabelsSchema,
    status: HostStatus,
    agentVersion: z.string().nullable(),
    protoVersion: z.string().nullable(),
    taskTypes: z.array(z.string()),
    heartbeatIntervalMs: z.number(),
    maxConcurrency: z.number(),
    enrolledAt: z.string(),
    lastHelloAt: z.string().nullable(),
    lastHeartbeatAt: z.string().nullable(),
    keycloak: HostKeycloak.nullable(),
    lastVerification: HostVerification.nullable(),
  })
  .openapi('Host');

const HostDetail = Host.extend({
  lastHeartbeat: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'the last heartbeat body: cpu, load, memory, disks, uptime' }),
}).openapi('HostDetail');

const IdParam = z.object({ id: z.string().min(1).max(64) });

const list = createRoute({
  method: 'get',
  path: '/hosts',
  summary: 'List hosts',
  request: {
    query: z.object({
      selector: z.string().max(2000).optional().openapi({ description: 'labels that must all match, e.g. env=prod,region=eu-1' }),
      status: HostStatus.optional(),
    }),
  },
  responses: {
    200: { description: 'Hosts', content: { 'application/json': { schema: z.object({ items: z.array(Host) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const get = createRoute({
  method: 'get',
  path: '/hosts/{id}',
  summary: 'One host with its last heartbeat',
  request: { params: IdParam },
  responses: {
    200: { description: 'Host', content: { 'application/json': { schema: HostDetail } } },
    ...errorResponses(401, 403, 404),
  },
});

const decommission = createRoute({
  method: 'delete',
  path: '/hosts/{id}',
  summary: 'Decommission a host: cancel its live tasks and delete it with its task history',
  request: { params: IdParam },
  responses: {
    200: {
      description: 'Decommissioned',
      content: { 'application/json': { schema: z.object({ id: z.string(), hostname: z.string(), deletedTasks: z.number() }) } },
    },
    ...errorResponses(401, 403, 404),
  },
});

function view(h: Omit<Selectable<HostsTable>, 'last_heartbeat' | 'nkey_public'>) {
  return {
    id: h.id,
    hostname: h.hostname,
    labels: h.labels,
    status: h.status,
    agentVersion: h.agent_version,
    protoVersion: h.proto_version,
    taskTypes: h.task_types,
    heartbeatIntervalMs: h.heartbeat_interval_ms,
    maxConcurrency: h.max_concurrency,
    enrolledAt: toIso(h.enrolled_at),
    lastHelloAt: toIso(h.last_hello_at),
    lastHeartbeatAt: toIso(h.last_heartbeat_at),
    keycloak: h.keycloak,
    lastVerification: h.last_verification,
  };
}

const LIST_COLUMNS = [
  'id',
  'hostname',
  'labels',
  'status',
  'agent_version',
  'proto_version',
  'task_types',
  'heartbeat_interval_ms',
  'max_concurrency',
  'enrolled_at',
  'last_hello_at',
  'last_heartbeat_at',
  'keycloak',
  'last_verification',
] as const;

export function hostsRoutes({ db, dispatcher, log }: ApiDeps) {
  const guard = createGuard(db);
  return createRouter()
    .openapi({ ...list, middleware: [guard('viewer', 'hosts.list')] }, async (c) => {
      const { selector, status } = c.req.valid('query');
      let q = db.selectFrom('hosts').select(LIST_COLUMNS).orderBy('hostname').orderBy('id');
      if (selector) q = q.where(sql<boolean>`labels @> ${JSON.stringify(parseSelector(selector))}::jsonb`);
      if (status) q = q.where('status', '=', status);
      const rows = await q.execute();
      return c.json({ items: rows.map(view) }, 200);
    })
    .openapi({ ...get, middleware: [guard('viewer', 'hosts.get')] }, async (c) => {
      const { id } = c.req.valid('param');
      const row = await db
        .selectFrom('hosts')
        .select([...LIST_COLUMNS, 'last_heartbeat'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw new ApiError(404, `host ${id} not found`);
      return c.json({ ...view(row), lastHeartbeat: row.last_heartbeat }, 200);
    })
    .openapi({ ...decommission, middleware: [guard('admin', 'hosts.decommission')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      const host = await db.selectFrom('hosts').select(['id', 'hostname']).where('id', '=', id).executeTakeFirst();
      if (!host) throw new ApiError(404, `host ${id} not found`);
      const live = await db.selectFrom('tasks').select('id').where('host_id', '=', id).where('state', 'in', ['dispatched', 'running']).execute();
      if (live.length > 0) {
        // Best effort: the host is going away whether or not its agent still answers.
        await dispatcher
          .cancel(
            live.map((t) => t.id),
            'host decommissioned',
          )
          .catch((err: unknown) => {
            log.warn({ err, hostId: id }, 'cannot cancel live tasks of a decommissioned host');
          });
      }
      const deletedTasks = await db.transaction().execute(async (trx) => {
        const taskIds = trx.selectFrom('tasks').select('id').where('host_id', '=', id);
        await trx.deleteFrom('task_events').where('task_id', 'in', taskIds).execute();
        const deleted = await trx.deleteFrom('tasks').where('host_id', '=', id).executeTakeFirst();
        await trx.deleteFrom('hosts').where('id', '=', id).execute();
        return Number(deleted.numDeletedRows);
      });
      noteAudit(c, { detail: { hostname: host.hostname, deletedTasks } });
      return c.json({ id, hostname: host.hostname, deletedTasks }, 200);
    });
}
