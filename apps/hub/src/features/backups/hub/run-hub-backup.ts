import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { TarWriter } from '@keyfleet/backup-tar';
import { Encrypter } from 'age-encryption';
import type { Kysely } from 'kysely';
import { ApiError } from '../../../api/api-error.js';
import type { DbSource } from '../../../store/create-db.js';
import type { Database } from '../../../store/database.js';
import { newBackupId } from '../backup-token.js';
import { backupsDb } from '../backups-tables.js';
import { activeRecipients } from '../open-backup-entry.js';
import type { BackupStorage } from '../storage/backup-storage.js';
import { localBackupKey } from '../storage/local-dir-storage.js';
import { HUB_HOST_ID } from './hub-backup-manifest.js';
import { writeHubObject } from './write-hub-object.js';
import { writeHubUnit } from './write-hub-unit.js';

export interface HubBackupResult {
  id: string;
  state: 'stored' | 'failed';
  error?: string;
  sizeBytes?: number;
  sha256?: string;
  durationMs: number;
}

export interface RunHubBackupDeps {
  db: Kysely<Database>;
  dbSource?: DbSource;
  storage: () => Promise<BackupStorage>;
}

/**
 * A backup unit of the hub's own database, written by this hub: the database (writeHubUnit) →
 * tar → age to the fleet's active recipients → the backup storage, one stream, under a catalog
 * entry of host `hub`, so listing, retention, metrics and the sweeper treat it as any backup.
 * Refuses (409) without a recipient and (503) without storage, before any entry exists; after
 * that it resolves with the entry's end (`stored`, or `failed` with why: the sweeper removes
 * what storage holds of a failed one). Should this hub stop midway, the entry fails when its
 * deadline passes, as an agent's would.
 */
export async function runHubBackup(deps: RunHubBackupDeps, opts: { scheduleId?: string; timeoutMs?: number } = {}): Promise<HubBackupResult> {
  const source = deps.dbSource;
  if (!source) throw new ApiError(503, 'this hub does not know how to read its own database');
  const db = backupsDb(deps.db);
  const recipients = await activeRecipients(deps.db);
  const store = await deps.storage();
  const id = newBackupId();
  const key = localBackupKey(HUB_HOST_ID, id);
  const timeoutMs = opts.timeoutMs ?? 3600_000;
  const uploadId =
    store.uploadMode === 's3-multipart'
      ? await store.startMultipart(key).catch((err: Error) => {
          throw new ApiError(503, `backup storage is unavailable: ${err.message}`);
        })
      : null;
  const started = Date.now();
  await db
    .insertInto('backups')
    .values({
      id,
      host_id: HUB_HOST_ID,
      schedule_id: opts.scheduleId ?? null,
      state: 'running',
      recipients: JSON.stringify(recipients),
      storage_kind: store.kind,
      storage_key: key,
      upload_expires_at: new Date(started + timeoutMs),
      upload_id: uploadId,
      upload_state: 'writing',
    })
    .execute();

  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`the backup took longer than ${timeoutMs} ms`)), timeoutMs);
  const tar = new TarWriter();
  try {
    const encrypter = new Encrypter();
    for (const r of recipients) encrypter.addRecipient(r.recipient);
    const ciphertext = Readable.fromWeb((await encrypter.encrypt(tar.stream())) as WebReadableStream<Uint8Array>);
    const writing = writeHubObject(store, key, uploadId, ciphertext);
    // A failed write must stop the unit's writer too, or it would wait forever for a reader.
    writing.catch(() => {
      tar.pack.destroy();
      abort.abort();
    });
    const unit = writeHubUnit(tar, source, deps.db, id, abort.signal);
    unit.catch(() => ciphertext.destroy());
    const [manifest, held] = await Promise.all([unit, writing]);
    await db
      .updateTable('backups')
      .set({
        state: 'stored',
        upload_state: 'complete',
        size_bytes: held.size,
        sha256: held.sha256,
        manifest: JSON.stringify(manifest),
        finished_at: new Date(),
      })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .execute();
    return { id, state: 'stored', sizeBytes: held.size, sha256: held.sha256, durationMs: Date.now() - started };
  } catch (err) {
    const error = `hub backup failed: ${(err as Error).message}`;
    await db
      .updateTable('backups')
      .set({ state: 'failed', error, upload_state: 'abandoned', finished_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .execute();
    return { id, state: 'failed', error, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
