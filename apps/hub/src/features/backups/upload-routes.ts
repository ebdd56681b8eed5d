import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { backupManifest, decodeAgeFileKey } from '@keyfleet/proto/v1';
import { Decrypter } from 'age-encryption';
import type { Context } from 'hono';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import type { AppEnv } from '../../api/app-env.js';
import { createRouter } from '../../api/create-router.js';
import { ErrorBody, errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { hashBackupToken, uploadSecretName } from './backup-token.js';
import { backupsDb } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { ageIdentities } from './unwrap-file-key.js';

const IdParam = z.object({ id: z.string().regex(/^bk_[a-z0-9]{8,40}$/, 'a backup id like bk_…') });
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** Presigned part URLs live only as long as one part takes to send. */
const PART_URL_TTL_SEC = 15 * 60;
/** S3 allows 10 000 parts. */
const MAX_PARTS = 10_000;

const put = createRoute({
  method: 'put',
  path: '/backup-uploads/{id}',
  summary: 'Upload the ciphertext of one backup (stream mode), once, with its single-use upload token',
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
  path: '/backup-uploads/{id}/parts/{partNumber}',
  summary: 'A presigned URL for one part of a backup’s S3 multipart upload (s3-multipart mode)',
  security: [],
  request: { params: IdParam.extend({ partNumber: z.coerce.number().int().min(1).max(MAX_PARTS) }) },
  responses: {
    200: { description: 'Part URL', content: { 'application/json': { schema: z.object({ url: z.string(), expiresInSec: z.number() }) } } },
    ...errorResponses(400, 401, 409),
  },
});

const complete = createRoute({
  method: 'post',
  path: '/backup-uploads/{id}/complete',
  summary: 'Finish a backup’s upload: the hub checks size and sha256 of what storage holds, then the backup is stored',
  security: [],
  // Up to 10 000 parts of ~230 bytes each plus the manifest: past the 16 KiB of routes anyone may call.
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
              manifest: z.record(z.string(), z.unknown()),
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

const download = createRoute({
  method: 'get',
  path: '/backup-downloads/{id}',
  summary: 'The ciphertext of one backup, once, with a single-use download token (drills)',
  security: [],
  request: { params: IdParam },
  responses: {
    200: { description: 'The age ciphertext (application/octet-stream)' },
    ...errorResponses(400, 401, 404, 409),
  },
});

const restoreSource = createRoute({
  method: 'get',
  path: '/backup-restores/{id}',
  summary: 'The plaintext tar of one backup, decrypted by the hub, once, with a single-use restore token',
  security: [],
  request: { params: IdParam },
  responses: {
    200: { description: 'The backup unit’s tar (application/x-tar)' },
    ...errorResponses(400, 401, 404, 409),
  },
});

function bearer(c: Context<AppEnv>): string {
  const token = c.req.header('authorization')?.match(/^Bearer\s+(kfb_\S+)$/)?.[1];
  if (!token) throw new ApiError(401, 'missing backup token: send "Authorization: Bearer kfb_..."');
  return token;
}

/**
 * What an agent may do with its upload token, and nothing more: write the one object of its
 * backup once (or its parts), then complete it. It cannot read, list or delete anything.
 */
export function uploadRoutes({ db: coreDb, secrets, log }: ApiDeps, storage: () => Promise<BackupStorage>) {
  const db = backupsDb(coreDb);

  const openUpload = async (c: Context<AppEnv>, id: string) => {
    const hash = hashBackupToken(bearer(c));
    const row = await db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.upload_token_hash !== hash) throw new ApiError(401, 'invalid backup upload token');
    if (!row.upload_expires_at || row.upload_expires_at.getTime() < Date.now()) throw new ApiError(401, 'the backup upload token has expired');
    if (row.state !== 'running') throw new ApiError(409, `backup ${id} is ${row.state}; its upload is closed`);
    return row;
  };

  const fail = async (id: string, reason: string) => {
    await db
      .updateTable('backups')
      .set({ state: 'failed', error: reason, upload_state: 'abandoned', upload_token_hash: null, finished_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .execute();
    await secrets.delete(uploadSecretName(id));
  };

  return createRouter()
    .openapi(put, async (c) => {
      const { id } = c.req.valid('param');
      c.set('audit', { action: 'backups.upload', target: id });
      const row = await openUpload(c, id);
      const store = await storage();
      if (store.uploadMode !== 'stream' || row.storage_kind !== store.kind) throw new ApiError(409, `backup ${id} is uploaded in parts (s3-multipart mode)`);
      // Single use: only the first request moves the upload from open to writing.
      const claimed = await db
        .updateTable('backups')
        .set({ upload_state: 'writing' })
        .where('id', '=', id)
        .where('upload_state', '=', 'open')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw new ApiError(409, `backup ${id} was already uploaded; an upload token writes once`);
      const body = c.req.raw.body;
      if (!body) {
        await fail(id, 'upload had no body');
        throw new ApiError(400, 'the body is the backup ciphertext');
      }
      try {
        const got = await store.writePartial(row.storage_key, Readable.fromWeb(body as never));
        await db.updateTable('backups').set({ upload_state: 'received', received_size: got.size, received_sha256: got.sha256 }).where('id', '=', id).execute();
        noteAudit(c, { detail: { size: got.size } });
        return c.json({ size: got.size, sha256: got.sha256 }, 200);
      } catch (err) {
        const reason = `upload interrupted: ${(err as Error).message}`;
        log.warn({ backupId: id, err }, 'backup upload failed');
        await fail(id, reason);
        const full = /full|not writable/.test((err as Error).message);
        throw new ApiError(full ? 507 : 400, reason);
      }
    })
    .openapi(part, async (c) => {
      const { id, partNumber } = c.req.valid('param');
      const row = await openUpload(c, id);
      const store = await storage();
      if (store.uploadMode !== 's3-multipart' || !row.upload_id) throw new ApiError(409, `backup ${id} is uploaded as one stream`);
      const url = await store.presignPart(row.storage_key, row.upload_id, partNumber, PART_URL_TTL_SEC);
      return c.json({ url, expiresInSec: PART_URL_TTL_SEC }, 200);
    })
    .openapi(complete, async (c) => {
      const { id } = c.req.valid('param');
      c.set('audit', { action: 'backups.upload-complete', target: id });
      const body = c.req.valid('json');
      const row = await openUpload(c, id);
      const manifest = backupManifest.safeParse(body.manifest);
      if (!manifest.success || manifest.data.backupId !== id) {
        await fail(id, 'the manifest sent with the upload is not valid');
        throw new ApiError(400, 'invalid manifest');
      }
      const store = await storage();
      try {
        if (store.uploadMode === 'stream') {
          if (row.upload_state !== 'received') throw new Error('nothing was uploaded');
          if (Number(row.received_size) !== body.size || row.received_sha256 !== body.sha256) {
            throw new Error(
              `checksum mismatch: the agent sent ${body.size} bytes with sha256 ${body.sha256}, the hub received ${row.received_size} bytes with sha256 ${row.received_sha256}`,
            );
          }
          await store.commit(row.storage_key);
        } else {
          if (!body.parts?.length || !row.upload_id) throw new Error('an s3-multipart upload completes with its parts');
          await store.completeMultipart(row.storage_key, row.upload_id, body.parts);
          // The object as storage holds it is what a restore will read: hash that, not a promise.
          const got = await store.digest(row.storage_key);
          if (got.size !== body.size || got.sha256 !== body.sha256) {
            throw new Error(
              `checksum mismatch: the agent sent ${body.size} bytes with sha256 ${body.sha256}, storage holds ${got.size} bytes with sha256 ${got.sha256}`,
            );
          }
        }
      } catch (err) {
        await fail(id, (err as Error).message);
        await store.remove(row.storage_key, row.upload_id).catch((e: unknown) => log.warn({ err: e, backupId: id }, 'cannot remove a failed backup object'));
        throw new ApiError(409, (err as Error).message);
      }
      const m = manifest.data;
      await db
        .updateTable('backups')
        .set({
          state: 'stored',
          upload_state: 'complete',
          upload_token_hash: null,
          size_bytes: body.size,
          sha256: body.sha256,
          manifest: JSON.stringify(m),
          keycloak_version: m.keycloak.version,
          finished_at: new Date(),
        })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .execute();
      await secrets.delete(uploadSecretName(id));
      return c.json({ state: 'stored' as const }, 200);
    })
    .openapi(download, async (c) => {
      const { id } = c.req.valid('param');
      const hash = hashBackupToken(bearer(c));
      // Single use: the token is spent by the request that claims it.
      const claimed = await db
        .updateTable('backup_downloads')
        .set({ used_at: new Date() })
        .where('token_hash', '=', hash)
        .where('backup_id', '=', id)
        .where('used_at', 'is', null)
        .where('kind', '=', 'ciphertext')
        .where('expires_at', '>', new Date())
        .returning('backup_id')
        .executeTakeFirst();
      if (!claimed) throw new ApiError(401, 'invalid, used or expired backup download token');
      const row = await db.selectFrom('backups').select(['storage_key', 'storage_kind', 'state']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `backup ${id} not found`);
      const store = await storage();
      if (row.storage_kind !== store.kind) throw new ApiError(409, `backup ${id} is in ${row.storage_kind} storage; this hub uses ${store.kind}`);
      const stream = await store.read(row.storage_key);
      return new Response(Readable.toWeb(stream) as ReadableStream, { status: 200, headers: { 'content-type': 'application/octet-stream' } }) as never;
    })
    .openapi(restoreSource, async (c) => {
      const { id } = c.req.valid('param');
      const hash = hashBackupToken(bearer(c));
      const claimed = await db
        .updateTable('backup_downloads')
        .set({ used_at: new Date() })
        .where('token_hash', '=', hash)
        .where('backup_id', '=', id)
        .where('used_at', 'is', null)
        .where('kind', '=', 'plaintext')
        .where('expires_at', '>', new Date())
        .returning('identity_secret')
        .executeTakeFirst();
      if (!claimed?.identity_secret) throw new ApiError(401, 'invalid, used or expired backup restore token');
      const row = await db.selectFrom('backups').select(['storage_key', 'storage_kind']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `backup ${id} not found`);
      const store = await storage();
      if (row.storage_kind !== store.kind) throw new ApiError(409, `backup ${id} is in ${row.storage_kind} storage; this hub uses ${store.kind}`);
      const { values, problems } = await secrets.reveal([claimed.identity_secret]);
      const value = values.get(claimed.identity_secret) ?? '';
      const fileKey = decodeAgeFileKey(value);
      // A per-call file key opens this one restore: the token is spent, so the key goes too.
      if (fileKey) await secrets.delete(claimed.identity_secret);
      const identities = fileKey ? [] : ageIdentities(value);
      if (!fileKey && identities.length === 0)
        throw new ApiError(409, problems.get(claimed.identity_secret) ?? `secret ${claimed.identity_secret} holds no age identity`);
      const decrypter = new Decrypter();
      if (fileKey) decrypter.addIdentity({ unwrapFileKey: () => fileKey });
      for (const identity of identities) decrypter.addIdentity(identity);
      // The header is read and unwrapped here, so a wrong identity is refused before the target
      // host stops its Keycloak; the body is authenticated chunk by chunk as it streams.
      const plaintext = await decrypter.decrypt(Readable.toWeb(await store.read(row.storage_key)) as ReadableStream<Uint8Array>).catch((err: Error) => {
        throw new ApiError(409, `cannot decrypt backup ${id} with the identity in ${claimed.identity_secret}: ${err.message}`);
      });
      return new Response(plaintext, { status: 200, headers: { 'content-type': 'application/x-tar' } }) as never;
    });
}
