import { createRoute, z } from '@hono/zod-openapi';
import { Readable } from 'node:stream';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { ErrorBody, errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { toIso } from '../../api/to-iso.js';
import { exportsDb } from './export-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';

const IdParam = z.object({ id: z.string().regex(/^bk_[a-z0-9]{8,40}$/, 'a backup id like bk_…') });

export const BackupExportSchema = z
  .object({
    id: z.string(),
    taskId: z.string().nullable(),
    state: z.enum(['running', 'stored', 'failed', 'pruned']),
    error: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    sizeBytes: z.number().nullable(),
    sha256: z.string().nullable(),
    realms: z.array(z.string()).nullable(),
    recipients: z.array(z.object({ keyId: z.string(), name: z.string(), recipient: z.string() })),
  })
  .openapi('BackupExport');

const list = createRoute({
  method: 'get',
  path: '/backups/{id}/exports',
  summary: 'The realm exports drills made of a backup (kc.sh export of the scratch copy, age-encrypted), newest first',
  request: { params: IdParam },
  responses: {
    200: { description: 'Exports', content: { 'application/json': { schema: z.object({ items: z.array(BackupExportSchema) }) } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

/** A POST, so that every download is in the audit trail (which records mutating requests). */
const download = createRoute({
  method: 'post',
  path: '/backups/{id}/export',
  summary: 'Download the ciphertext of a backup’s newest stored realm export (or the one named), for `age -d` with the fleet’s identity; admin only, audited',
  request: {
    params: IdParam,
    query: z.object({
      exportId: z
        .string()
        .regex(/^bx_[a-z0-9]{8,40}$/, 'a backup export id like bx_…')
        .optional(),
    }),
  },
  responses: {
    200: { description: 'The age ciphertext of a tar of realms/*.json (application/octet-stream)' },
    ...errorResponses(400, 401, 403),
    404: {
      description: 'No such backup, or it has no stored realm export (ask a drill with export: true)',
      content: { 'application/json': { schema: ErrorBody } },
    },
    409: { description: 'The export is in another storage than this hub uses', content: { 'application/json': { schema: ErrorBody } } },
  },
});

/** A backup's realm exports: listed with it, and downloaded as ciphertext only (the hub never opens one). */
export function backupExportRoutes({ db: coreDb }: ApiDeps, storage: () => Promise<BackupStorage>) {
  const guard = createGuard(coreDb);
  const db = exportsDb(coreDb);
  return createRouter()
    .openapi({ ...list, middleware: [guard('viewer', 'backups.exports')] }, async (c) => {
      const { id } = c.req.valid('param');
      const backup = await db.selectFrom('backups').select('id').where('id', '=', id).executeTakeFirst();
      if (!backup) throw new ApiError(404, `backup ${id} not found`);
      const rows = await db.selectFrom('backup_exports').selectAll().where('backup_id', '=', id).orderBy('created_at', 'desc').orderBy('id').execute();
      const items = rows.map((r) => ({
        id: r.id,
        taskId: r.task_id,
        state: r.state,
        error: r.error,
        createdAt: toIso(r.created_at),
        finishedAt: toIso(r.finished_at),
        sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
        sha256: r.sha256,
        realms: r.realms,
        recipients: r.recipients,
      }));
      return c.json({ items }, 200);
    })
    .openapi({ ...download, middleware: [guard('admin', 'backups.export')] }, async (c) => {
      const { id } = c.req.valid('param');
      const { exportId } = c.req.valid('query');
      let q = db
        .selectFrom('backup_exports')
        .select(['id', 'storage_key', 'storage_kind', 'sha256', 'size_bytes'])
        .where('backup_id', '=', id)
        .where('state', '=', 'stored')
        .orderBy('created_at', 'desc')
        .limit(1);
      if (exportId) q = q.where('id', '=', exportId);
      const row = await q.executeTakeFirst();
      if (!row) throw new ApiError(404, `backup ${id} has no stored realm export${exportId ? ` ${exportId}` : ''}: drill it with --export`);
      noteAudit(c, { target: id, detail: { exportId: row.id, size: Number(row.size_bytes) } });
      const store = await storage();
      if (row.storage_kind !== store.kind) throw new ApiError(409, `export ${row.id} is in ${row.storage_kind} storage; this hub uses ${store.kind}`);
      const stream = await store.read(row.storage_key);
      return new Response(Readable.toWeb(stream) as ReadableStream, {
        status: 200,
        headers: {
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="${id}.${row.id}.tar.age"`,
          'x-keyfleet-export-id': row.id,
          'x-keyfleet-sha256': row.sha256 ?? '',
        },
      }) as never;
    });
}
