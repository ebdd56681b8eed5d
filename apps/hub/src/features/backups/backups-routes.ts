import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { ErrorBody, errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { parseSelector } from '../../api/parse-selector.js';
import { createTaskBatch } from '../../api/tasks/create-task-batch.js';
import { backupDetailView, BackupDetailSchema, BackupSchema, backupView } from './backup-view.js';
import { downloadSecretName, newBackupToken } from './backup-token.js';
import { fileKeySecretName, identityForCall } from './identity-for-call.js';
import { backupsDb } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { pruneBackups } from './prune-backups.js';
import { restoreInstallConfig } from './restore-install-config.js';
import { startBackups } from './start-backups.js';
import { startDrill } from './start-drill.js';
import { HUB_HOST_ID } from './hub/hub-backup-manifest.js';
import { secretRef } from '@keyfleet/proto/v1';

/** A hub secret's name, as proto's secret references declare it. */
const SecretName = secretRef.shape.$secret;

/**
 * An age identity (the text of an age-keygen key file) for one call only: the hub opens the
 * backup's header with it and forgets it. Never stored, logged, audited or sent to a host.
 */
const PerCallIdentity = z
  .string()
  .min(1)
  .max(16 * 1024)
  .optional()
  .openapi({
    description: 'An age identity file’s text (AGE-SECRET-KEY-1…) for this call only; used by the hub to open this backup, never stored or sent to a host',
    format: 'password',
  });

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
  summary:
    'Prove a backup restores: a backup.drill task on a drill host, with the identity from the hub’s secret store (or the file key of this backup, from an identity given for this call)',
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
              identitySecret: SecretName.optional(),
              /** Or an identity for this drill only: the drill host then gets this backup's file key, never the identity. */
              identity: PerCallIdentity,
              scratchUrl: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
              scratchPasswordSecret: SecretName.optional(),
              /** `skip`: a database-level drill, for a drill host without the backup's Keycloak version. */
              keycloak: z.enum(['boot', 'skip']).optional(),
              /** Also export the realms (with users) from the scratch copy once tokens are proven: age-encrypted to the fleet's recipients, kept with the backup. */
              export: z.boolean().optional(),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Drill started', content: { 'application/json': { schema: z.object({ taskId: z.string(), hostId: z.string() }) } } },
    ...errorResponses(401, 403),
    400: {
      description:
        'Invalid input; neither or both of identitySecret and identity; the identity given for this call is not an age identity or does not open this backup; or export with keycloak: skip (nothing was started)',
      content: { 'application/json': { schema: ErrorBody } },
    },
    404: { description: 'No such backup, or no hub secret of that name', content: { 'application/json': { schema: ErrorBody } } },
    409: {
      description:
        'The backup is not stored or verified, or it is in another storage than this hub uses; or an export is asked for and there is no backup recipient (fail closed)',
      content: { 'application/json': { schema: ErrorBody } },
    },
  },
});

const restore = createRoute({
  method: 'post',
  path: '/backups/{id}/restore',
  summary:
    'Put a backup back onto a host’s Keycloak (same or another host): a backup.restore task; the hub decrypts with the named identity. Onto a host without Keycloak, the same task also installs Keycloak of the backup’s version (the backup’s host’s config, installConfig over it)',
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
              identitySecret: SecretName.optional(),
              identity: PerCallIdentity,
              installConfig: z.record(z.string(), z.unknown()).optional().openapi({
                description:
                  'Only for a host without Keycloak: fields of a keycloak.install config (e.g. database, distUrl, image, ports) over the backup’s host’s last applied config, whole fields replaced; the whole config when the hub knows none. Secrets as references ({ "$secret": name }). Its version must be the backup’s.',
              }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Restore started (installing Keycloak too when `install` is true)',
      content: { 'application/json': { schema: z.object({ taskId: z.string(), hostId: z.string(), install: z.boolean() }) } },
    },
    ...errorResponses(401, 403),
    400: {
      description:
        'Invalid input; neither or both of identitySecret and identity; the identity given for this call is not an age identity or does not open this backup; or, for a host without Keycloak, the Keycloak to install is not a valid config, is not of the backup’s version, or is unknown (the hub has no config of the backup’s host: give installConfig) (nothing was started)',
      content: { 'application/json': { schema: ErrorBody } },
    },
    404: { description: 'No such backup or host, or no hub secret of that name', content: { 'application/json': { schema: ErrorBody } } },
    409: {
      description:
        'The backup is not stored or verified, or it is in another storage than this hub uses; installConfig for a host that runs Keycloak; the Keycloak to install would use the database the backup’s host’s Keycloak still runs on; or the host’s agent cannot restore',
      content: { 'application/json': { schema: ErrorBody } },
    },
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
      // The audit names how the backup is opened, never the identity itself.
      noteAudit(c, {
        target: id,
        detail: {
          hostId: body.hostId,
          identity: body.identity === undefined ? `secret ${body.identitySecret}` : 'given for this call',
          // Its field names only: a value the task validation refuses (an inline secret) must not reach the audit.
          ...(body.installConfig ? { installConfig: Object.keys(body.installConfig) } : {}),
        },
      });
      const row = await db.selectFrom('backups').select(['state', 'manifest', 'host_id']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `backup ${id} not found`);
      if (row.host_id === HUB_HOST_ID)
        throw new ApiError(409, `backup ${id} is of the hub's own database: it is restored by hand (docs/backups.md, disaster recovery of the hub)`);
      if ((row.state !== 'stored' && row.state !== 'verified') || !row.manifest)
        throw new ApiError(409, `backup ${id} is ${row.state}: only stored or verified backups can be restored`);
      if (!(await db.selectFrom('hosts').select('id').where('id', '=', body.hostId).executeTakeFirst()))
        throw new ApiError(404, `target host ${body.hostId} not found`);
      // Checked before the identity is used and a download token exists: a refused install config starts nothing.
      const install = await restoreInstallConfig(coreDb, {
        backupId: id,
        sourceHostId: row.host_id,
        targetHostId: body.hostId,
        version: row.manifest.keycloak.version,
        override: body.installConfig,
      });
      const actor = c.get('actor')?.label ?? 'unknown';
      const { token, hash } = newBackupToken();
      const secretName = downloadSecretName(id, randomBytes(6).toString('hex'));
      // A per-call identity is used right here and forgotten: only the file key of this backup stays, sealed.
      const identitySecret = await identityForCall(coreDb, secrets, storage, id, body, secretName, actor);
      await db
        .insertInto('backup_downloads')
        .values({ token_hash: hash, backup_id: id, expires_at: new Date(Date.now() + 4 * 3600_000), kind: 'plaintext', identity_secret: identitySecret })
        .execute();
      await secrets.put(secretName, token, actor);
      const { tasks } = await createTaskBatch(coreDb, {
        type: 'backup.restore',
        target: { hostId: body.hostId },
        params: {
          backupId: id,
          source: { url: `/v1/backup-restores/${id}`, token: { $secret: secretName } },
          keycloakVersion: row.manifest.keycloak.version,
          dumpSha256: row.manifest.database.sha256,
          dumpBytes: row.manifest.database.size,
          ...(install ? { install } : {}),
        },
        expiresInMs: 3600_000,
        createdBy: actor,
      }).catch(async (err: unknown) => {
        await db.deleteFrom('backup_downloads').where('token_hash', '=', hash).execute();
        await secrets.delete(secretName);
        await secrets.delete(fileKeySecretName(secretName));
        throw err;
      });
      dispatcher.kick();
      return c.json({ taskId: tasks[0]!.id, hostId: body.hostId, install: install !== undefined }, 201);
    })
    .openapi({ ...drill, middleware: [guard('operator', 'backups.drill')] }, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      noteAudit(c, {
        target: id,
        detail: {
          hostId: body.hostId,
          identity: body.identity === undefined ? `secret ${body.identitySecret}` : 'given for this call',
          ...(body.export ? { export: true } : {}),
        },
      });
      const owner = await db.selectFrom('backups').select('host_id').where('id', '=', id).executeTakeFirst();
      if (owner?.host_id === HUB_HOST_ID)
        throw new ApiError(409, `backup ${id} is of the hub's own database: drill it on the hub (POST /v1/backups/${id}/hub-drill)`);
      const started = await startDrill(coreDb, secrets, id, body, c.get('actor')?.label ?? 'unknown', storage);
      dispatcher.kick();
      return c.json(started, 201);
    });
}
