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
import { downloadSecretName, newBackupId, newBackupToken, uploadSecretName } from './backup-token.js';
import { backupsDb } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { prunable } from './retention-policy.js';
import { localBackupKey } from './storage/local-dir-storage.js';
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
      const keys = await db.selectFrom('backup_keys').select(['id', 'name', 'recipient']).where('retired_at', 'is', null).orderBy('created_at').execute();
      // Fail closed: a backup nobody can decrypt, or one written in clear, is worse than none.
      if (keys.length === 0) throw new ApiError(409, 'no backup recipients: add the public key of an offline age identity first (keyfleet backup-keys add)');
      let hosts = db.selectFrom('hosts').select('id').orderBy('id');
      if ('hostId' in target) hosts = hosts.where('id', '=', target.hostId);
      else if ('selector' in target) hosts = hosts.where(sql<boolean>`labels @> ${JSON.stringify(parseSelector(target.selector))}::jsonb`);
      const hostIds = (await hosts.execute()).map((h) => h.id);
      if (hostIds.length === 0) throw new ApiError(404, 'the target matches no host');
      const store = await storage();
      const actor = c.get('actor')?.label ?? 'unknown';
      const started: Array<{ id: string; hostId: string; taskId: string }> = [];
      for (const hostId of hostIds) {
        const id = newBackupId();
        const { token, hash } = newBackupToken();
        const key = localBackupKey(hostId, id);
        const uploadId =
          store.uploadMode === 's3-multipart'
            ? await store.startMultipart(key).catch((err: Error) => {
                throw new ApiError(503, `backup storage is unavailable: ${err.message}`);
              })
            : null;
        const expiresAt = new Date(Date.now() + expiresInMs + 2 * 3600_000);
        await db
          .insertInto('backups')
          .values({
            id,
            host_id: hostId,
            state: 'running',
            recipients: JSON.stringify(keys.map((k) => ({ keyId: k.id, name: k.name, recipient: k.recipient }))),
            storage_kind: store.kind,
            storage_key: key,
            upload_token_hash: hash,
            upload_expires_at: expiresAt,
            upload_id: uploadId,
          })
          .execute();
        // The token reaches the agent through the secret store: only its reference is stored with the task.
        await secrets.put(uploadSecretName(id), token, actor);
        try {
          const { tasks } = await createTaskBatch(coreDb, {
            type: 'backup.run',
            target: { hostId },
            params: {
              backupId: id,
              recipients: keys.map((k) => k.recipient),
              upload: { url: `/v1/backup-uploads/${id}`, token: { $secret: uploadSecretName(id) }, mode: store.uploadMode },
            },
            expiresInMs,
            createdBy: actor,
          });
          const taskId = tasks[0]!.id;
          await db.updateTable('backups').set({ task_id: taskId }).where('id', '=', id).execute();
          started.push({ id, hostId, taskId });
        } catch (err) {
          await db
            .updateTable('backups')
            .set({ state: 'failed', error: (err as Error).message, upload_state: 'abandoned', upload_token_hash: null })
            .where('id', '=', id)
            .execute();
          await secrets.delete(uploadSecretName(id));
          throw err;
        }
      }
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
      let q = db.selectFrom('backups').select(['id', 'host_id', 'started_at', 'state']).where('state', 'in', ['stored', 'verified']);
      if (host) q = q.where('host_id', '=', host);
      const rows = await q.execute();
      const byHost = new Map<string, typeof rows>();
      for (const r of rows) byHost.set(r.host_id, [...(byHost.get(r.host_id) ?? []), r]);
      const pruned: Array<{ id: string; hostId: string; startedAt: string }> = [];
      for (const [hostId, backups] of byHost) {
        for (const b of prunable(
          backups.map((r) => ({ id: r.id, startedAt: r.started_at, verified: r.state === 'verified' })),
          policy,
        )) {
          pruned.push({ id: b.id, hostId, startedAt: b.startedAt.toISOString() });
        }
      }
      if (!dryRun && pruned.length > 0) {
        // Row by row, conditionally: no lock is held that a running or new backup would wait for;
        // the sweeper removes the objects (and retries if storage is away).
        await db
          .updateTable('backups')
          .set({ state: 'pruned', upload_state: 'abandoned' })
          .where(
            'id',
            'in',
            pruned.map((p) => p.id),
          )
          .where('state', 'in', ['stored', 'verified'])
          .execute();
      }
      return c.json({ dryRun, pruned, kept: rows.length - pruned.length }, 200);
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
      const row = await db.selectFrom('backups').select(['state', 'sha256']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `backup ${id} not found`);
      if ((row.state !== 'stored' && row.state !== 'verified') || !row.sha256)
        throw new ApiError(409, `backup ${id} is ${row.state}: only stored backups can be drilled`);
      const { token, hash } = newBackupToken();
      const secretName = downloadSecretName(id, randomBytes(6).toString('hex'));
      await db
        .insertInto('backup_downloads')
        .values({ token_hash: hash, backup_id: id, expires_at: new Date(Date.now() + 4 * 3600_000) })
        .execute();
      await secrets.put(secretName, token, c.get('actor')?.label ?? 'unknown');
      const { tasks } = await createTaskBatch(coreDb, {
        type: 'backup.drill',
        target: { hostId: body.hostId },
        params: {
          backupId: id,
          download: { url: `/v1/backup-downloads/${id}`, token: { $secret: secretName } },
          identity: { $secret: body.identitySecret },
          scratch: { url: body.scratchUrl, ...(body.scratchPasswordSecret ? { password: { $secret: body.scratchPasswordSecret } } : {}) },
          sha256: row.sha256,
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
    });
}
