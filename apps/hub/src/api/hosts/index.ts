import { createRoute, z } from '@hono/zod-openapi';
import { sql, type Selectable } from 'kysely';
import type { HostsTable } from '../../store/database.js';
import { CredentialRevoker } from '../../auth/credential-revoker.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { LabelsSchema } from '../labels-schema.js';
import { noteAudit } from '../note-audit.js';
import { parseSelector } from '../parse-selector.js';
import { toIso } from '../to-iso.js';
import { SelectorSchema } from '../selector-schema.js';

const HostStatus = z.enum(['pending', 'online', 'offline']);

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
      selector: SelectorSchema.optional(),
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

const Revocation = {
  credentialRevokedAt: z.string().openapi({ description: "when the host's NATS credential was revoked (the first time, if it already was)" }),
  revocationEnforced: z.boolean().openapi({
    description: 'true once NATS refuses the credential (its connection is closed); false: NATS did not take it yet and the hub keeps trying',
  }),
};

const decommission = createRoute({
  method: 'delete',
  path: '/hosts/{id}',
  summary: 'Decommission a host: cancel its live tasks, revoke its NATS credential and delete it with its task history',
  request: { params: IdParam },
  responses: {
    200: {
      description: 'Decommissioned',
      content: { 'application/json': { schema: z.object({ id: z.string(), hostname: z.string(), deletedTasks: z.number(), ...Revocation }) } },
    },
    ...errorResponses(401, 403, 404),
  },
});

const revoke = createRoute({
  method: 'post',
  path: '/hosts/{id}/revoke',
  summary: "Revoke a host's NATS credential: its agent is disconnected and refused, the host and its history stay",
  request: { params: IdParam },
  responses: {
    200: {
      description: 'Revoked (again: idempotent)',
      content: { 'application/json': { schema: z.object({ id: z.string(), hostname: z.string(), ...Revocation }) } },
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
] as const;

export function hostsRoutes({ db, dispatcher, revoker, log }: ApiDeps) {
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
      const host = await db.selectFrom('hosts').select(['id', 'hostname', 'nkey_public']).where('id', '=', id).executeTakeFirst();
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
      const { deletedTasks, revokedAt } = await db.transaction().execute(async (trx) => {
        // Recorded with the deletion, so a host is never gone while its credential still counts.
        const revokedAt = await CredentialRevoker.record(
          trx,
          { id, hostname: host.hostname, nkeyPublic: host.nkey_public },
          'decommissioned',
          c.get('actor')?.label ?? null,
        );
        const taskIds = trx.selectFrom('tasks').select('id').where('host_id', '=', id);
        await trx.deleteFrom('task_events').where('task_id', 'in', taskIds).execute();
        const deleted = await trx.deleteFrom('tasks').where('host_id', '=', id).executeTakeFirst();
        await trx.deleteFrom('hosts').where('id', '=', id).execute();
        return { deletedTasks: Number(deleted.numDeletedRows), revokedAt };
      });
      const revocationEnforced = await revoker.publish();
      noteAudit(c, { detail: { hostname: host.hostname, deletedTasks, revocationEnforced } });
      return c.json({ id, hostname: host.hostname, deletedTasks, credentialRevokedAt: revokedAt.toISOString(), revocationEnforced }, 200);
    })
    .openapi({ ...revoke, middleware: [guard('admin', 'hosts.revoke')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      const host = await db.selectFrom('hosts').select(['id', 'hostname', 'nkey_public']).where('id', '=', id).executeTakeFirst();
      if (!host) throw new ApiError(404, `host ${id} not found`);
      const revokedAt = await CredentialRevoker.record(
        db,
        { id, hostname: host.hostname, nkeyPublic: host.nkey_public },
        'revoked',
        c.get('actor')?.label ?? null,
      );
      const revocationEnforced = await revoker.publish();
      noteAudit(c, { detail: { hostname: host.hostname, revocationEnforced } });
      return c.json({ id, hostname: host.hostname, credentialRevokedAt: revokedAt.toISOString(), revocationEnforced }, 200);
    });
}
