import { createRoute, z } from '@hono/zod-openapi';
import * as v1 from '@keyfleet/proto/v1';
import type { ApiDeps } from '../../../api/api-deps.js';
import { ApiError } from '../../../api/api-error.js';
import { createGuard } from '../../../api/create-guard.js';
import { createRouter } from '../../../api/create-router.js';
import { errorResponses } from '../../../api/error-responses.js';
import { noteAudit } from '../../../api/note-audit.js';
import { createTaskBatch } from '../../../api/tasks/create-task-batch.js';
import { BatchSchema, TaskStateSchema, batchView } from '../../../api/tasks/task-view.js';
import { toIso } from '../../../api/to-iso.js';
import { keycloakDb } from '../keycloak-tables.js';

const RealmParams = z.object({
  id: z.string().min(1).max(64),
  realm: z.string().regex(/^[a-zA-Z0-9._-]{1,255}$/, 'realm names are 1-255 chars of [a-zA-Z0-9._-]'),
});

const RealmChange = v1.realmChange;

const RealmSpecVersion = z
  .object({
    version: z.number(),
    realm: z.string(),
    hostId: z.string(),
    spec: z.record(z.string(), z.unknown()).openapi({ description: 'the applied realm spec; secrets as {"$secret": name} references' }),
    changes: z.array(RealmChange).openapi({ description: 'what the apply changed (secrets masked)' }),
    taskId: z.string().nullable(),
    appliedAt: z.string(),
    appliedBy: z.string(),
  })
  .openapi('RealmSpecVersion');

const history = createRoute({
  method: 'get',
  path: '/hosts/{id}/realms/{realm}/history',
  summary: 'Realm specs applied to a host, newest first',
  request: { params: RealmParams },
  responses: {
    200: { description: 'Versions', content: { 'application/json': { schema: z.object({ items: z.array(RealmSpecVersion) }) } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const rollback = createRoute({
  method: 'post',
  path: '/hosts/{id}/realms/{realm}/rollback',
  summary: 'Re-apply an earlier realm spec version (a keycloak.realm.apply task on that host)',
  request: {
    params: RealmParams,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              // realm_specs.version is a Postgres integer.
              version: z.number().int().min(1).max(2_147_483_647),
              expiresInMs: z
                .number()
                .int()
                .min(1000)
                .max(30 * 24 * 3600 * 1000)
                .default(3600 * 1000),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Queued',
      content: {
        'application/json': {
          schema: z.object({ batch: BatchSchema, tasks: z.array(z.object({ id: z.string(), hostId: z.string(), state: TaskStateSchema })) }),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function realmsRoutes({ db: coreDb, dispatcher }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = keycloakDb(coreDb);
  const requireHost = async (id: string) => {
    const host = await db.selectFrom('hosts').select('id').where('id', '=', id).executeTakeFirst();
    if (!host) throw new ApiError(404, `host ${id} not found`);
  };
  return createRouter()
    .openapi({ ...history, middleware: [guard('viewer', 'realms.history')] }, async (c) => {
      const { id, realm } = c.req.valid('param');
      await requireHost(id);
      const rows = await db.selectFrom('realm_specs').selectAll().where('host_id', '=', id).where('realm', '=', realm).orderBy('version', 'desc').execute();
      const items = rows.map((r) => ({
        version: r.version,
        realm: r.realm,
        hostId: r.host_id,
        spec: r.spec,
        changes: r.changes as z.infer<typeof RealmChange>[],
        taskId: r.task_id,
        appliedAt: toIso(r.applied_at),
        appliedBy: r.applied_by,
      }));
      return c.json({ items }, 200);
    })
    .openapi({ ...rollback, middleware: [guard('operator', 'realms.rollback')] }, async (c) => {
      const { id, realm } = c.req.valid('param');
      const { version, expiresInMs } = c.req.valid('json');
      noteAudit(c, { detail: { hostId: id, realm, version } });
      await requireHost(id);
      const stored = await db
        .selectFrom('realm_specs')
        .select('spec')
        .where('host_id', '=', id)
        .where('realm', '=', realm)
        .where('version', '=', version)
        .executeTakeFirst();
      if (!stored) throw new ApiError(404, `realm ${realm} on host ${id} has no version ${version}; see GET /v1/hosts/${id}/realms/${realm}/history`);
      const { batch, tasks } = await createTaskBatch(coreDb, {
        type: 'keycloak.realm.apply',
        target: { hostId: id },
        params: { spec: stored.spec },
        expiresInMs,
        createdBy: c.get('actor')?.label ?? 'unknown',
      });
      noteAudit(c, { target: batch.id });
      dispatcher.kick();
      return c.json({ batch: batchView(batch), tasks }, 201);
    });
}
