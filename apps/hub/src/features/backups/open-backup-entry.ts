import type { Kysely } from 'kysely';
import { ApiError } from '../../api/api-error.js';
import type { Database } from '../../store/database.js';
import { newBackupId, newBackupToken } from './backup-token.js';
import { backupsDb, type BackupRecipient } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { localBackupKey } from './storage/local-dir-storage.js';

export interface OpenedBackup {
  id: string;
  /** The single-use upload token; the catalog keeps only its hash. */
  token: string;
}

/** The fleet's current (unretired) recipients; 409 when there is none: a backup nobody can decrypt, or one written in clear, is worse than none. */
export async function activeRecipients(coreDb: Kysely<Database>): Promise<BackupRecipient[]> {
  const keys = await backupsDb(coreDb)
    .selectFrom('backup_keys')
    .select(['id', 'name', 'recipient'])
    .where('retired_at', 'is', null)
    .orderBy('created_at')
    .execute();
  if (keys.length === 0) throw new ApiError(409, 'no backup recipients: add the public key of an offline age identity first (keyfleet backup-keys add)');
  return keys.map((k) => ({ keyId: k.id, name: k.name, recipient: k.recipient }));
}

/**
 * One `running` catalog entry of a host with its storage object opened (an S3 multipart upload
 * started) and a single-use upload token valid for `expiresInMs` plus two hours.
 */
export async function openBackupEntry(
  coreDb: Kysely<Database>,
  store: BackupStorage,
  hostId: string,
  recipients: BackupRecipient[],
  opts: { expiresInMs: number; scheduleId?: string },
): Promise<OpenedBackup> {
  const id = newBackupId();
  const { token, hash } = newBackupToken();
  const key = localBackupKey(hostId, id);
  const uploadId =
    store.uploadMode === 's3-multipart'
      ? await store.startMultipart(key).catch((err: Error) => {
          throw new ApiError(503, `backup storage is unavailable: ${err.message}`);
        })
      : null;
  await backupsDb(coreDb)
    .insertInto('backups')
    .values({
      id,
      host_id: hostId,
      schedule_id: opts.scheduleId ?? null,
      state: 'running',
      recipients: JSON.stringify(recipients),
      storage_kind: store.kind,
      storage_key: key,
      upload_token_hash: hash,
      upload_expires_at: new Date(Date.now() + opts.expiresInMs + 2 * 3600_000),
      upload_id: uploadId,
    })
    .execute();
  return { id, token };
}
