import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { backupManifest, decodeAgeFileKey } from '@keyfleet/proto/v1';
import { Decrypter } from 'age-encryption';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { backupBearerToken, hashBackupToken, uploadSecretName } from './backup-token.js';
import { singleUseUpload } from './single-use-upload.js';
import { backupsDb } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { uploadRouteDefs } from './upload-route-defs.js';
import { ageIdentities } from './unwrap-file-key.js';

const IdParam = z.object({ id: z.string().regex(/^bk_[a-z0-9]{8,40}$/, 'a backup id like bk_…') });
const { put, part, complete } = uploadRouteDefs(
  '/backup-uploads',
  IdParam,
  { one: 'one backup', stored: 'the backup is stored' },
  { manifest: z.record(z.string(), z.unknown()) },
);

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

/**
 * What an agent may do with its upload token, and nothing more: write the one object of its
 * backup once (or its parts), then complete it. It cannot read, list or delete anything.
 */
export function uploadRoutes({ db: coreDb, secrets, log }: ApiDeps, storage: () => Promise<BackupStorage>) {
  const db = backupsDb(coreDb);
  const upload = singleUseUpload(
    {
      noun: 'backup',
      writer: 'the agent',
      find: (id) => db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst(),
      claim: async (id) => {
        const claimed = await db
          .updateTable('backups')
          .set({ upload_state: 'writing' })
          .where('id', '=', id)
          .where('upload_state', '=', 'open')
          .executeTakeFirst();
        return Number(claimed.numUpdatedRows) === 1;
      },
      received: async (id, got) => {
        await db.updateTable('backups').set({ upload_state: 'received', received_size: got.size, received_sha256: got.sha256 }).where('id', '=', id).execute();
      },
      fail: async (id, reason) => {
        await db
          .updateTable('backups')
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
      c.set('audit', { action: 'backups.upload', target: id });
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
      c.set('audit', { action: 'backups.upload-complete', target: id });
      const body = c.req.valid('json');
      const row = await upload.open(c, id);
      const manifest = backupManifest.safeParse(body.manifest);
      if (!manifest.success || manifest.data.backupId !== id) {
        await upload.fail(id, 'the manifest sent with the upload is not valid');
        throw new ApiError(400, 'invalid manifest');
      }
      await upload.finish(id, row, body);
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
      const hash = hashBackupToken(backupBearerToken(c));
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
      const hash = hashBackupToken(backupBearerToken(c));
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
