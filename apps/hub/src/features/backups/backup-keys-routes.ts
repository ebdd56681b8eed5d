import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { ageRecipient } from '@keyfleet/proto/v1';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { toIso } from '../../api/to-iso.js';
import { backupsDb, type BackupKeysTable } from './backups-tables.js';

const BackupKey = z
  .object({
    id: z.string(),
    name: z.string(),
    recipient: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    retiredAt: z.string().nullable(),
  })
  .openapi('BackupKey', { description: 'A backup recipient: an age public key new backups are encrypted to until it is retired' });

const IdParam = z.object({ id: z.string().regex(/^bkey_[a-z0-9]{1,40}$/, 'a backup key id like bkey_…') });

const add = createRoute({
  method: 'post',
  path: '/backup-keys',
  summary: 'Add a backup recipient (an age X25519 public key; identities are refused)',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              name: z.string().regex(/^[a-zA-Z0-9._ -]{1,64}$/, 'names are 1-64 chars of [a-zA-Z0-9._ -]'),
              // Checked by hand below, so an identity pasted by mistake is refused without being echoed.
              recipient: z.string().min(1).max(200),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Added', content: { 'application/json': { schema: BackupKey } } },
    ...errorResponses(400, 401, 403, 409),
  },
});

const list = createRoute({
  method: 'get',
  path: '/backup-keys',
  summary: 'Backup recipients, active and retired',
  responses: {
    200: { description: 'Recipients', content: { 'application/json': { schema: z.object({ items: z.array(BackupKey) }) } } },
    ...errorResponses(401, 403),
  },
});

const retire = createRoute({
  method: 'post',
  path: '/backup-keys/{id}/retire',
  summary: 'Retire a backup recipient: new backups are no longer encrypted to it (old ones still are)',
  request: { params: IdParam },
  responses: {
    200: { description: 'Retired', content: { 'application/json': { schema: BackupKey } } },
    ...errorResponses(401, 403, 404),
  },
});

const view = (k: { [K in keyof BackupKeysTable]: K extends 'created_at' ? Date : K extends 'retired_at' ? Date | null : BackupKeysTable[K] }) => ({
  id: k.id,
  name: k.name,
  recipient: k.recipient,
  createdAt: toIso(k.created_at),
  createdBy: k.created_by,
  retiredAt: toIso(k.retired_at),
});

export function backupKeysRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = backupsDb(coreDb);
  return createRouter()
    .openapi({ ...add, middleware: [guard('admin', 'backup-keys.add')] }, async (c) => {
      const { name, recipient } = c.req.valid('json');
      if (/^AGE-SECRET-KEY-/i.test(recipient.trim())) {
        throw new ApiError(
          400,
          'that is an age identity (secret key), not a recipient: give the public key (age1…) that `age-keygen -y` prints, and keep the identity offline',
        );
      }
      if (!ageRecipient.safeParse(recipient.trim()).success) {
        throw new ApiError(400, 'recipient must be an age X25519 public key (age1…, 62 characters, as age-keygen prints it)');
      }
      const id = `bkey_${randomBytes(8).toString('hex')}`;
      const row = await db
        .insertInto('backup_keys')
        .values({ id, name, recipient: recipient.trim(), created_by: c.get('actor')?.label ?? 'unknown' })
        .onConflict((oc) => oc.column('recipient').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new ApiError(409, 'this recipient is already a backup key (see GET /v1/backup-keys)');
      noteAudit(c, { target: id, detail: { name } });
      return c.json(view(row), 201);
    })
    .openapi({ ...list, middleware: [guard('viewer', 'backup-keys.list')] }, async (c) => {
      const rows = await db.selectFrom('backup_keys').selectAll().orderBy('created_at').orderBy('id').execute();
      return c.json({ items: rows.map(view) }, 200);
    })
    .openapi({ ...retire, middleware: [guard('admin', 'backup-keys.retire')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      const row = await db.updateTable('backup_keys').set({ retired_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
      if (!row) throw new ApiError(404, `backup key ${id} not found`);
      return c.json(view(row), 200);
    });
}
