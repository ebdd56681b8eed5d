import { z } from '@hono/zod-openapi';
import type { ApiDeps } from '../../api/api-deps.js';
import { createRouter } from '../../api/create-router.js';
import { noteAudit } from '../../api/note-audit.js';
import { uploadSecretName } from './backup-token.js';
import { exportsDb } from './export-tables.js';
import { singleUseUpload } from './single-use-upload.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { uploadRouteDefs } from './upload-route-defs.js';

const IdParam = z.object({ id: z.string().regex(/^bx_[a-z0-9]{8,40}$/, 'a backup export id like bx_…') });
const { put, part, complete } = uploadRouteDefs(
  '/backup-export-uploads',
  IdParam,
  { one: 'one realm export', stored: 'the export is stored with its backup' },
  { realms: z.array(z.string().min(1).max(255)).min(1).max(10_000) },
);

/**
 * What a drill host may do with an export's upload token, and nothing more: write that one
 * object once (or its parts), then complete it. It cannot read, list or delete anything.
 */
export function exportUploadRoutes({ db: coreDb, secrets, log }: ApiDeps, storage: () => Promise<BackupStorage>) {
  const db = exportsDb(coreDb);
  const upload = singleUseUpload(
    {
      noun: 'export',
      writer: 'the drill host',
      find: (id) => db.selectFrom('backup_exports').selectAll().where('id', '=', id).executeTakeFirst(),
      claim: async (id) => {
        const claimed = await db
          .updateTable('backup_exports')
          .set({ upload_state: 'writing' })
          .where('id', '=', id)
          .where('upload_state', '=', 'open')
          .executeTakeFirst();
        return Number(claimed.numUpdatedRows) === 1;
      },
      received: async (id, got) => {
        await db
          .updateTable('backup_exports')
          .set({ upload_state: 'received', received_size: got.size, received_sha256: got.sha256 })
          .where('id', '=', id)
          .execute();
      },
      fail: async (id, reason) => {
        await db
          .updateTable('backup_exports')
          .set({ state: 'failed', error: reason, upload_state: 'abandoned', upload_token_hash: null, finished_at: new Date() })
          .where('id', '=', id)
          .where('state', '=', 'running')
          .execute();
        await secrets.delete(uploadSecretName(id));
      },
    },
    storage,
    log,
  );

  return createRouter()
    .openapi(put, async (c) => {
      const { id } = c.req.valid('param');
      c.set('audit', { action: 'backups.export-upload', target: id });
      const got = await upload.put(c, id);
      noteAudit(c, { detail: { size: got.size } });
      return c.json(got, 200);
    })
    .openapi(part, async (c) => {
      const { id, partNumber } = c.req.valid('param');
      return c.json(await upload.partUrl(c, id, partNumber), 200);
    })
    .openapi(complete, async (c) => {
      const { id } = c.req.valid('param');
      c.set('audit', { action: 'backups.export-upload-complete', target: id });
      const body = c.req.valid('json');
      const row = await upload.open(c, id);
      await upload.finish(id, row, body);
      await db
        .updateTable('backup_exports')
        .set({
          state: 'stored',
          upload_state: 'complete',
          upload_token_hash: null,
          size_bytes: body.size,
          sha256: body.sha256,
          realms: JSON.stringify(body.realms),
          finished_at: new Date(),
        })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .execute();
      await secrets.delete(uploadSecretName(id));
      return c.json({ state: 'stored' as const }, 200);
    });
}
