import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { parseSelector } from '../../api/parse-selector.js';
import { createTaskBatch } from '../../api/tasks/create-task-batch.js';
import { backupDetailView, BackupDetailSchema, BackupSchema, backupView } from './backup-view.js';
import { downloadSecretName, newBackupToken } from './backup-token.js';
import { backupsDb } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { pruneBackups } from './prune-backups.js';
import { startBackups } from './start-backups.js';
import { startDrill } from './start-drill.js';
import { secretRef } from '@keyfleet/proto/v1';

/** A hub secret's name, as proto's secret references declare it. */
const SecretName = secretRef.shape.$secret;

const IdParam = z.object({ id: z.string().regex(/^bk_[a-z0-9]{8,40}$/, 'a backup id like bk_…') });

const list = createRoute({
  method: 'get',
  path: '/backups',
  summary: 'The backup catalog, newest first',
  request: {
    query: z.object({
      host: z.string().min(1).max(64).optional(),
      state: z.enum(['running', 'stored', 'verified', 'failed', 'pruned']).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: {
    200: { description: 'Backups', content: { 'application/json': { schema: z.object({ items: z.array(BackupSchema) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const show = createRoute({
  method: 'get',
  path: '/backups/{id}',
  summary: 'One backup with its manifest',
  request: { params: IdParam },
  responses: {
    200: { description: 'Backup', content: { 'application/json': { schema: BackupDetailSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const Target = z.union([
  z.object({ hostId: z.string().min(1).max(64) }).strict(),
  z.object({ selector: z.string().min(1).max(1000) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);

const Started = z.object({ backups: z.array(z.object({ id: z.string(), hostId: z.string(), taskId: z.string() })) });

const run = createRoute({
  method: 'post',
  path: '/backups',
  summary: 'Back up the targeted hosts now (one backup.run task and catalog entry per host)',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              target: Target,
              expiresInMs: z
                .number()
                .int()
                .min(1000)
                .max(7 * 24 * 3600_000)
                .default(3600_000),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Started', content: { 'application/json': { schema: Started } } },
    ...errorResponses(400, 401, 403, 404, 409, 503),
  },
});

const drill = createRoute({
  method: 'post',
  path: '/backups/{id}/drill',
  summary: 'Prove a backup restores: a backup.drill task on a drill host, with the identity from the hub’s secret store',
  request: {
    params: IdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              hostId: z.string().min(1).max(64),
              /** Name of the hub secret holding the age identity (AGE-SECRET-KEY-1…). */
              identitySecret: SecretName,
              scratchUrl: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
              scratchPasswordSecret: SecretName.optional(),
              /** `skip`: a database-level drill, for a drill host without the backup's Keycloak version. */
              keycloak: z.enum(['boot', 'skip']).optional(),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Drill started', content: { 'application/json': { schema: z.object({ taskId: z.string(), hostId: z.string() }) } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const restore = createRoute({
  method: 'post',
  path: '/backups/{id}/restore',
  summary: 'Put a backup back onto a host’s Keycloak (same or another host): a backup.restore task; the hub decrypts with the named identity',
  request: {
    params: IdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              hostId: z.string().min(1).max(64),
              /** Name of the hub secret holding the age identity; the target host never receives it. */
              identitySecret: SecretName,
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Restore started', content: { 'application/json': { schema: z.object({ taskId: z.string(), hostId: z.string() }) } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const keep = z.number().int().min(0).max(100_000).optional();

const prune = createRoute({
  method: 'post',
  path: '/backups/prune',
  summary: 'Let backups go by a retention policy (restic semantics, per host); never the newest verified backup of a host; running backups are untouched',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              host: z.string().min(1).max(64).optional(),
              keepLast: keep,
              keepHourly: keep,
              keepDaily: keep,
              keepWeekly: keep,
              keepMonthly: keep,
              keepYearly: keep,
              dryRun: z.boolean().default(false),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'What was (or, with dryRun, would be) pruned',
      content: {
        'application/json': {
          schema: z.object({ dryRun: z.boolean(), pruned: z.array(z.object({ id: z.string(), hostId: z.string(), startedAt: z.string() })), kept: z.number() }),
        },
      },
    },
    ...errorResponses(400, 401, 403),
  },
});

export function backupsRoutes({ db: coreDb, dispatcher, secrets }: ApiDeps, storage: () => Promise<BackupStorage>) {
  const guard = createGuard(coreDb);
  const db = backupsDb(coreDb);
  return createRouter()
    .openapi({ ...list, middleware: [guard('viewer', 'backups.list')] }, async (c) => {
      const { host, state, limit } = c.req.valid('query');
      let q = db.selectFrom('backups').selectAll().orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit);
      if (host) q = q.where('host_id', '=', host);
      if (state) q = q.where('state', '=', state);
      return c.json({ items: (await q.execute()).map(backupView) }, 200);
    })
    .openapi({ ...show, middleware: [guard('viewer', 'backups.show')] }, async (c) => {
      const { id } = c.req.valid('param');
      const row = await db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `backup ${id} not found`);
      return c.json(backupDetailView(row), 200);
    })
    .openapi({ ...run, middleware: [guard('operator', 'backups.run')] }, async (c) => {
      const { target, expiresInMs } = c.req.valid('json');
      noteAudit(c, { detail: { target } });
      let hosts = db.selectFrom('hosts').select('id').orderBy('id');
      if ('hostId' in target) hosts = hosts.where('id', '=', target.hostId);
      else if ('selector' in target) hosts = hosts.where(sql<boolean>`labels @> ${JSON.stringify(parseSelector(target.selector))}::jsonb`);
      const hostIds = (await hosts.execute()).map((h) => h.id);
      if (hostIds.length === 0) throw new ApiError(404, 'the target matches no host');
      const started = await startBackups(coreDb, secrets, storage, hostIds, { expiresInMs, actor: c.get('actor')?.label ?? 'unknown' });
      noteAudit(c, { detail: { backups: started.map((s) => s.id) } });
      dispatcher.kick();
      return c.json({ backups: started }, 201);
    })
    .openapi({ ...prune, middleware: [guard('admin', 'backups.prune')] }, async (c) => {
      const { host, dryRun, ...policy } = c.req.valid('json');
      if (!Object.values(policy).some((n) => (n ?? 0) > 0))
        throw new ApiError(
          400,
          'a retention policy keeps something: give at least one of keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly',
        );
      noteAudit(c, { detail: { host, dryRun, policy } });
      const { pruned, kept } = await pruneBackups(coreDb, { host }, policy, dryRun);
      return c.json({ dryRun, pruned, kept }, 200);
    })
    .openapi({ ...restore, middleware: [guard('admin', 'backups.restore')] }, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      noteAudit(c, { target: id, detail: { hostId: body.hostId } });
      const row = await db.selectFrom('backups').select(['state', 'manifest']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `backup ${id} not found`);
      if ((row.state !== 'stored' && row.state !== 'verified') || !row.manifest)
        throw new ApiError(409, `backup ${id} is ${row.state}: only stored or verified backups can be restored`);
      const identity = await db.selectFrom('secrets').select('name').where('name', '=', body.identitySecret).executeTakeFirst();
      if (!identity)
        throw new ApiError(
          404,
          `no secret ${body.identitySecret}: store the age identity with keyfleet secrets set ${body.identitySecret} --from-file key.txt`,
        );
      const { token, hash } = newBackupToken();
      const secretName = downloadSecretName(id, randomBytes(6).toString('hex'));
      await db
        .insertInto('backup_downloads')
        .values({ token_hash: hash, backup_id: id, expires_at: new Date(Date.now() + 4 * 3600_000), kind: 'plaintext', identity_secret: body.identitySecret })
        .execute();
      await secrets.put(secretName, token, c.get('actor')?.label ?? 'unknown');
      const { tasks } = await createTaskBatch(coreDb, {
        type: 'backup.restore',
        target: { hostId: body.hostId },
        params: {
          backupId: id,
          source: { url: `/v1/backup-restores/${id}`, token: { $secret: secretName } },
          keycloakVersion: row.manifest.keycloak.version,
          dumpSha256: row.manifest.database.sha256,
        },
        expiresInMs: 3600_000,
        createdBy: c.get('actor')?.label ?? 'unknown',
      }).catch(async (err: unknown) => {
        await db.deleteFrom('backup_downloads').where('token_hash', '=', hash).execute();
        await secrets.delete(secretName);
        throw err;
      });
      dispatcher.kick();
      return c.json({ taskId: tasks[0]!.id, hostId: body.hostId }, 201);
    })
    .openapi({ ...drill, middleware: [guard('operator', 'backups.drill')] }, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      noteAudit(c, { target: id, detail: { hostId: body.hostId } });
      const started = await startDrill(coreDb, secrets, id, body, c.get('actor')?.label ?? 'unknown');
      dispatcher.kick();
      return c.json(started, 201);
    });
}
