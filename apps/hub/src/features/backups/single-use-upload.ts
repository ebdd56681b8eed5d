import { Readable } from 'node:stream';
import type { Context } from 'hono';
import type { Logger } from '@keyfleet/log';
import { ApiError } from '../../api/api-error.js';
import type { AppEnv } from '../../api/app-env.js';
import { backupBearerToken, hashBackupToken } from './backup-token.js';
import type { BackupStorage, ObjectDigest } from './storage/backup-storage.js';

/** Presigned part URLs live only as long as one part takes to send. */
const PART_URL_TTL_SEC = 15 * 60;

/** The upload columns the backups and backup_exports tables share. */
export interface UploadRow {
  state: string;
  upload_token_hash: string | null;
  upload_expires_at: Date | null;
  upload_state: string;
  storage_key: string;
  storage_kind: string;
  upload_id: string | null;
  received_size: string | null;
  received_sha256: string | null;
}

/** How one catalog table keeps its single-use uploads. */
export interface UploadCatalog<Row extends UploadRow> {
  /** `backup` or `export`, for messages. */
  noun: string;
  /** Who writes the object, for checksum messages: `the agent`, `the drill host`. */
  writer: string;
  find(id: string): Promise<Row | undefined>;
  /** Moves the upload from open to writing; false when another request did first. */
  claim(id: string): Promise<boolean>;
  received(id: string, got: ObjectDigest): Promise<void>;
  /** Marks the entry failed and its upload abandoned (the sweeper removes the object), token gone. */
  fail(id: string, reason: string): Promise<void>;
}

export interface UploadBody {
  size: number;
  sha256: string;
  parts?: Array<{ partNumber: number; etag: string }> | undefined;
}

/**
 * What the holder of a single-use upload token may do, and nothing more: write that one object
 * once (a stream through the hub, or S3 parts), then complete it. It cannot read, list or delete
 * anything. Backups and realm exports share it; each brings its catalog table.
 */
export function singleUseUpload<Row extends UploadRow>(catalog: UploadCatalog<Row>, storage: () => Promise<BackupStorage>, log: Logger) {
  const { noun } = catalog;

  const open = async (c: Context<AppEnv>, id: string): Promise<Row> => {
    const hash = hashBackupToken(backupBearerToken(c));
    const row = await catalog.find(id);
    if (!row || row.upload_token_hash !== hash) throw new ApiError(401, 'invalid backup upload token');
    if (!row.upload_expires_at || row.upload_expires_at.getTime() < Date.now()) throw new ApiError(401, 'the backup upload token has expired');
    if (row.state !== 'running') throw new ApiError(409, `${noun} ${id} is ${row.state}; its upload is closed`);
    return row;
  };

  return {
    open,
    fail: catalog.fail,

    /** The streamed PUT: the object is kept partial until `finish`. */
    async put(c: Context<AppEnv>, id: string): Promise<ObjectDigest> {
      const row = await open(c, id);
      const store = await storage();
      if (store.uploadMode !== 'stream' || row.storage_kind !== store.kind) throw new ApiError(409, `${noun} ${id} is uploaded in parts (s3-multipart mode)`);
      // Single use: only the first request moves the upload from open to writing.
      if (!(await catalog.claim(id))) throw new ApiError(409, `${noun} ${id} was already uploaded; an upload token writes once`);
      const body = c.req.raw.body;
      if (!body) {
        await catalog.fail(id, 'upload had no body');
        throw new ApiError(400, `the body is the ${noun} ciphertext`);
      }
      try {
        const got = await store.writePartial(row.storage_key, Readable.fromWeb(body as never));
        await catalog.received(id, got);
        return got;
      } catch (err) {
        const reason = `upload interrupted: ${(err as Error).message}`;
        log.warn({ id, err }, `${noun} upload failed`);
        await catalog.fail(id, reason);
        throw new ApiError(/full|not writable/.test((err as Error).message) ? 507 : 400, reason);
      }
    },

    async partUrl(c: Context<AppEnv>, id: string, partNumber: number): Promise<{ url: string; expiresInSec: number }> {
      const row = await open(c, id);
      const store = await storage();
      if (store.uploadMode !== 's3-multipart' || !row.upload_id) throw new ApiError(409, `${noun} ${id} is uploaded as one stream`);
      return { url: await store.presignPart(row.storage_key, row.upload_id, partNumber, PART_URL_TTL_SEC), expiresInSec: PART_URL_TTL_SEC };
    },

    /**
     * Makes the object readable once what storage holds is what the writer sent; otherwise the
     * entry fails, the object goes, and the caller gets a 409.
     */
    async finish(id: string, row: Row, body: UploadBody): Promise<void> {
      const store = await storage();
      const { writer } = catalog;
      try {
        if (store.uploadMode === 'stream') {
          if (row.upload_state !== 'received') throw new Error('nothing was uploaded');
          if (Number(row.received_size) !== body.size || row.received_sha256 !== body.sha256) {
            throw new Error(
              `checksum mismatch: ${writer} sent ${body.size} bytes with sha256 ${body.sha256}, the hub received ${row.received_size} bytes with sha256 ${row.received_sha256}`,
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
              `checksum mismatch: ${writer} sent ${body.size} bytes with sha256 ${body.sha256}, storage holds ${got.size} bytes with sha256 ${got.sha256}`,
            );
          }
        }
      } catch (err) {
        await catalog.fail(id, (err as Error).message);
        await store.remove(row.storage_key, row.upload_id).catch((e: unknown) => log.warn({ err: e, id }, `cannot remove a failed ${noun} object`));
        throw new ApiError(409, (err as Error).message);
      }
    },
  };
}
