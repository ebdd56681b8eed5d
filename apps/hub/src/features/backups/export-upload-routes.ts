import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import type { AppEnv } from '../../api/app-env.js';
import { createRouter } from '../../api/create-router.js';
import { ErrorBody, errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { hashBackupToken, uploadSecretName } from './backup-token.js';
import { exportsDb } from './export-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';

const IdParam = z.object({ id: z.string().regex(/^bx_[a-z0-9]{8,40}$/, 'a backup export id like bx_…') });
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const PART_URL_TTL_SEC = 15 * 60;
const MAX_PARTS = 10_000;

const put = createRoute({
  method: 'put',
  path: '/backup-export-uploads/{id}',
  summary: 'Upload the ciphertext of one realm export (stream mode), once, with its single-use upload token',
  description: 'The body is the raw age ciphertext (application/octet-stream), streamed; it is kept partial until complete.',
  security: [],
  request: { params: IdParam },
  responses: {
    200: { description: 'Received', content: { 'application/json': { schema: z.object({ size: z.number(), sha256: Sha256 }) } } },
    ...errorResponses(400, 401, 409),
    507: { description: 'Backup storage is full or not writable', content: { 'application/json': { schema: ErrorBody } } },
  },
});

const part = createRoute({
  method: 'post',
  path: '/backup-export-uploads/{id}/parts/{partNumber}',
  summary: 'A presigned URL for one part of a realm export’s S3 multipart upload (s3-multipart mode)',
  security: [],
  request: { params: IdParam.extend({ partNumber: z.coerce.number().int().min(1).max(MAX_PARTS) }) },
  responses: {
    200: { description: 'Part URL', content: { 'application/json': { schema: z.object({ url: z.string(), expiresInSec: z.number() }) } } },
    ...errorResponses(400, 401, 409),
  },
});

const complete = createRoute({
  method: 'post',
  path: '/backup-export-uploads/{id}/complete',
  summary: 'Finish a realm export’s upload: the hub checks size and sha256 of what storage holds, then the export is stored with its backup',
  security: [],
  'x-body-limit': 4 * 1024 * 1024,
  request: {
    params: IdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              size: z.number().int().nonnegative(),
              sha256: Sha256,
              parts: z
                .array(z.object({ partNumber: z.number().int().min(1).max(MAX_PARTS), etag: z.string().min(1).max(200) }))
                .max(MAX_PARTS)
                .optional(),
              realms: z.array(z.string().min(1).max(255)).min(1).max(10_000),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: { description: 'Stored', content: { 'application/json': { schema: z.object({ state: z.literal('stored') }) } } },
    ...errorResponses(400, 401, 409),
  },
});

function bearer(c: Context<AppEnv>): string {
  const token = c.req.header('authorization')?.match(/^Bearer\s+(kfb_\S+)$/)?.[1];
  if (!token) throw new ApiError(401, 'missing backup token: send "Authorization: Bearer kfb_..."');
  return token;
}

/**
 * What a drill host may do with an export's upload token, and nothing more: write that one
 * object once (or its parts), then complete it. It cannot read, list or delete anything.
 */
export function exportUploadRoutes({ db: coreDb, secrets, log }: ApiDeps, storage: () => Promise<BackupStorage>) {
  const db = exportsDb(coreDb);

  const openUpload = async (c: Context<AppEnv>, id: string) => {
    const hash = hashBackupToken(bearer(c));
    const row = await db.selectFrom('backup_exports').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.upload_token_hash !== hash) throw new ApiError(401, 'invalid backup upload token');
    if (!row.upload_expires_at || row.upload_expires_at.getTime() < Date.now()) throw new ApiError(401, 'the backup upload token has expired');
    if (row.state !== 'running') throw new ApiError(409, `export ${id} is ${row.state}; its upload is closed`);
    return row;
  };

  const fail = async (id: string, reason: string) => {
    await db
      .updateTable('backup_exports')
      .set({ state: 'failed', error: reason, upload_state: 'abandoned', upload_token_hash: null, finished_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .execute();
    await secrets.delete(uploadSecretName(id));
  };

  return createRouter()
    .openapi(put, async (c) => {
      const { id } = c.req.valid('param');
      c.set('audit', { action: 'backups.export-upload', target: id });
      const row = await openUpload(c, id);
      const store = await storage();
      if (store.uploadMode !== 'stream' || row.storage_kind !== store.kind) throw new ApiError(409, `export ${id} is uploaded in parts (s3-multipart mode)`);
      const claimed = await db
        .updateTable('backup_exports')
        .set({ upload_state: 'writing' })
        .where('id', '=', id)
        .where('upload_state', '=', 'open')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw new ApiError(409, `export ${id} was already uploaded; an upload token writes once`);
      const body = c.req.raw.body;
      if (!body) {
        await fail(id, 'upload had no body');
        throw new ApiError(400, 'the body is the export ciphertext');
      }
      try {
        const got = await store.writePartial(row.storage_key, Readable.fromWeb(body as never));
        await db
          .updateTable('backup_exports')
          .set({ upload_state: 'received', received_size: got.size, received_sha256: got.sha256 })
          .where('id', '=', id)
          .execute();
        noteAudit(c, { detail: { size: got.size } });
        return c.json({ size: got.size, sha256: got.sha256 }, 200);
      } catch (err) {
        const reason = `upload interrupted: ${(err as Error).message}`;
        log.warn({ exportId: id, err }, 'realm export upload failed');
        await fail(id, reason);
        throw new ApiError(/full|not writable/.test((err as Error).message) ? 507 : 400, reason);
      }
    })
    .openapi(part, async (c) => {
      const { id, partNumber } = c.req.valid('param');
      const row = await openUpload(c, id);
      const store = await storage();
      if (store.uploadMode !== 's3-multipart' || !row.upload_id) throw new ApiError(409, `export ${id} is uploaded as one stream`);
      const url = await store.presignPart(row.storage_key, row.upload_id, partNumber, PART_URL_TTL_SEC);
      return c.json({ url, expiresInSec: PART_URL_TTL_SEC }, 200);
    })
    .openapi(complete, async (c) => {
      const { id } = c.req.valid('param');
      c.set('audit', { action: 'backups.export-upload-complete', target: id });
      const body = c.req.valid('json');
      const row = await openUpload(c, id);
      const store = await storage();
      try {
        if (store.uploadMode === 'stream') {
          if (row.upload_state !== 'received') throw new Error('nothing was uploaded');
          if (Number(row.received_size) !== body.size || row.received_sha256 !== body.sha256) {
            throw new Error(
              `checksum mismatch: the drill host sent ${body.size} bytes with sha256 ${body.sha256}, the hub received ${row.received_size} bytes with sha256 ${row.received_sha256}`,
            );
          }
          await store.commit(row.storage_key);
        } else {
          if (!body.parts?.length || !row.upload_id) throw new Error('an s3-multipart upload completes with its parts');
          await store.completeMultipart(row.storage_key, row.upload_id, body.parts);
          const got = await store.digest(row.storage_key);
          if (got.size !== body.size || got.sha256 !== body.sha256) {
            throw new Error(
              `checksum mismatch: the drill host sent ${body.size} bytes with sha256 ${body.sha256}, storage holds ${got.size} bytes with sha256 ${got.sha256}`,
            );
          }
        }
      } catch (err) {
        await fail(id, (err as Error).message);
        await store.remove(row.storage_key, row.upload_id).catch((e: unknown) => log.warn({ err: e, exportId: id }, 'cannot remove a failed export object'));
        throw new ApiError(409, (err as Error).message);
      }
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
