import { createRoute, z } from '@hono/zod-openapi';
import { secretRef } from '@keyfleet/proto/v1';
import type { ApiDeps } from '../../../api/api-deps.js';
import { createGuard } from '../../../api/create-guard.js';
import { createRouter } from '../../../api/create-router.js';
import { ErrorBody, errorResponses } from '../../../api/error-responses.js';
import { noteAudit } from '../../../api/note-audit.js';
import type { BackupStorage } from '../storage/backup-storage.js';
import { drillHubBackup } from './drill-hub-backup.js';
import { runHubBackup } from './run-hub-backup.js';

const HubBackup = z.object({
  id: z.string(),
  hostId: z.literal('hub'),
  state: z.enum(['stored', 'failed']),
  error: z.string().optional(),
  sizeBytes: z.number().optional(),
  sha256: z.string().optional(),
  durationMs: z.number(),
});

const run = createRoute({
  method: 'post',
  path: '/backups/hub',
  summary:
    'Back up the hub’s own database now (a backup unit of host `hub`, written by this hub to the fleet’s recipients and storage); answers when it is stored or failed',
  responses: {
    201: { description: 'The backup’s end: stored, or failed with why', content: { 'application/json': { schema: HubBackup } } },
    ...errorResponses(401, 403),
    409: { description: 'No active backup recipient (nothing was written)', content: { 'application/json': { schema: ErrorBody } } },
    503: { description: 'Backup storage is unavailable, or the hub cannot read its own database', content: { 'application/json': { schema: ErrorBody } } },
  },
});

const IdParam = z.object({ id: z.string().regex(/^bk_[a-z0-9]{8,40}$/, 'a backup id like bk_…') });

const Check = z.object({ name: z.string(), ok: z.boolean(), detail: z.string() });

const drill = createRoute({
  method: 'post',
  path: '/backups/{id}/hub-drill',
  summary:
    'Prove a hub backup restores, on this hub: decrypt, restore into a scratch database (pg_restore on scratchUrl, or a scratch PGlite for an embedded hub), compare the newest migration and rows per table with the manifest',
  request: {
    params: IdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              identitySecret: secretRef.shape.$secret.optional(),
              identity: z
                .string()
                .min(1)
                .max(16 * 1024)
                .optional()
                .openapi({ description: 'An age identity file’s text for this drill only; used by this hub, never stored', format: 'password' }),
              scratchUrl: z
                .string()
                .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
                .optional(),
              scratchPasswordSecret: secretRef.shape.$secret.optional(),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The drill’s verdict (the backup is verified when ok)',
      content: {
        'application/json': {
          schema: z.object({ ok: z.boolean(), restoreMs: z.number().optional(), checks: z.array(Check).optional(), error: z.string().optional() }),
        },
      },
    },
    ...errorResponses(401, 403),
    400: {
      description: 'Invalid input; neither or both of identitySecret and identity; not an age identity; a Postgres hub’s backup without scratchUrl',
      content: { 'application/json': { schema: ErrorBody } },
    },
    404: { description: 'No such backup, or no hub secret of that name', content: { 'application/json': { schema: ErrorBody } } },
    409: {
      description: 'Not a hub backup, not stored or verified, or in another storage than this hub uses',
      content: { 'application/json': { schema: ErrorBody } },
    },
  },
});

/** The hub's own database: a backup now, and its drill (both on the hub that is asked). */
export function hubBackupRoutes({ db, secrets, dbSource }: ApiDeps, storage: () => Promise<BackupStorage>) {
  const guard = createGuard(db);
  return createRouter()
    .openapi({ ...run, middleware: [guard('admin', 'backups.run-hub')] }, async (c) => {
      const result = await runHubBackup({ db, dbSource, storage });
      noteAudit(c, { target: result.id, detail: { state: result.state } });
      return c.json({ ...result, hostId: 'hub' as const }, 201);
    })
    .openapi({ ...drill, middleware: [guard('operator', 'backups.drill')] }, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      noteAudit(c, { target: id, detail: { identity: body.identity === undefined ? `secret ${body.identitySecret}` : 'given for this call' } });
      const { ok, restoreMs, checks, error } = await drillHubBackup(db, secrets, storage, id, body);
      return c.json({ ok, restoreMs, checks, error }, 200);
    });
}
