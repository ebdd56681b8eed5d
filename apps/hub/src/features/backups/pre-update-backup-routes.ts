import { createRoute, z } from '@hono/zod-openapi';
import { preUpdateBackupTarget } from '@keyfleet/proto/v1';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { hostAuth, hostCaller } from '../agents/host-auth.js';
import { activeRecipients, openBackupEntry } from './open-backup-entry.js';
import type { BackupStorage } from './storage/backup-storage.js';

/** Long enough for the backup a `keycloak.update` takes first (its task has 20 minutes in all). */
const PRE_UPDATE_UPLOAD_MS = 30 * 60_000;

const open = createRoute({
  method: 'post',
  path: '/agent/pre-update-backups',
  summary: 'A host about to upgrade its Keycloak asks where to write its pre-update backup unit',
  description:
    'Only the host’s own signed request (`Authorization: KeyfleetHost …`). Opens a catalog entry of that host and answers with the fleet’s recipients and a single-use upload target, the same a backup.run gets; 409 without recipients.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({ fromVersion: z.string().min(1).max(32), toVersion: z.string().min(1).max(32) }).strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Opened', content: { 'application/json': { schema: preUpdateBackupTarget } } },
    ...errorResponses(403, 409, 503),
  },
});

/**
 * The backup a Keycloak version upgrade takes before it touches anything. `keycloak.update` is
 * dispatched like any task, with no per-task code in the hub, so the agent asks for its target
 * itself, signed as its host: it can only ever open an entry of its own host.
 */
export function preUpdateBackupRoutes({ db }: ApiDeps, storage: () => Promise<BackupStorage>) {
  return createRouter().openapi({ ...open, middleware: [hostAuth(db, 'backups.pre-update', ['host'])] }, async (c) => {
    if (!c.get('actor')?.label.startsWith('host:')) throw new ApiError(403, 'forbidden: only a host opens its own pre-update backup');
    const host = hostCaller(c);
    const body = c.req.valid('json');
    const recipients = await activeRecipients(db);
    const store = await storage();
    const opened = await openBackupEntry(db, store, host.id, recipients, { expiresInMs: PRE_UPDATE_UPLOAD_MS });
    noteAudit(c, { target: opened.id, detail: { hostId: host.id, fromVersion: body.fromVersion, toVersion: body.toVersion } });
    return c.json(
      {
        backupId: opened.id,
        recipients: recipients.map((r) => r.recipient),
        upload: { url: `/v1/backup-uploads/${opened.id}`, token: opened.token, mode: store.uploadMode },
      },
      201,
    );
  });
}
