import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { ApiError } from '../../api/api-error.js';
import type { Database } from '../../store/database.js';
import { newBackupToken } from './backup-token.js';
import type { BackupRecipient } from './backups-tables.js';
import { exportsDb } from './export-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';

/**
 * A `running` realm export of a backup with its storage object opened (an S3 multipart upload
 * started) and a single-use upload token, valid for `expiresInMs` plus two hours: the drill host
 * can write that one object and nothing else. The catalog keeps only the token's hash.
 */
export async function openBackupExport(
  coreDb: Kysely<Database>,
  store: BackupStorage,
  backup: { id: string; hostId: string },
  recipients: BackupRecipient[],
  expiresInMs: number,
): Promise<{ id: string; token: string }> {
  const id = `bx_${randomBytes(10).toString('hex')}`;
  const { token, hash } = newBackupToken();
  const key = join(backup.hostId, `${backup.id}.${id}.export.tar.age`);
  const uploadId =
    store.uploadMode === 's3-multipart'
      ? await store.startMultipart(key).catch((err: Error) => {
          throw new ApiError(503, `backup storage is unavailable: ${err.message}`);
        })
      : null;
  await exportsDb(coreDb)
    .insertInto('backup_exports')
    .values({
      id,
      backup_id: backup.id,
      state: 'running',
      recipients: JSON.stringify(recipients),
      storage_kind: store.kind,
      storage_key: key,
      upload_token_hash: hash,
      upload_expires_at: new Date(Date.now() + expiresInMs + 2 * 3600_000),
      upload_id: uploadId,
    })
    .execute();
  return { id, token };
}
