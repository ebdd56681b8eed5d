import type { Kysely } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createTaskBatch } from '../../api/tasks/create-task-batch.js';
import type { Database } from '../../store/database.js';
import { newBackupId, newBackupToken, uploadSecretName } from './backup-token.js';
import { backupsDb } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { localBackupKey } from './storage/local-dir-storage.js';

export interface StartedBackup {
  id: string;
  hostId: string;
  taskId: string;
}

export interface StartBackupsOptions {
  expiresInMs: number;
  /** Who asked: an API token's label, or the schedule that fired. */
  actor: string;
  /** The schedule this backup belongs to (its retention applies to it); none for a backup run by hand. */
  scheduleId?: string;
}

/**
 * One catalog entry, single-use upload target and backup.run task per host (the caller chose
 * the hosts and kicks the dispatcher). Refuses with 409 when there is no recipient: a backup
 * nobody can decrypt, or one written in clear, is worse than none.
 */
export async function startBackups(
  coreDb: Kysely<Database>,
  secrets: ApiDeps['secrets'],
  storage: () => Promise<BackupStorage>,
  hostIds: string[],
  opts: StartBackupsOptions,
): Promise<StartedBackup[]> {
  const db = backupsDb(coreDb);
  const keys = await db.selectFrom('backup_keys').select(['id', 'name', 'recipient']).where('retired_at', 'is', null).orderBy('created_at').execute();
  if (keys.length === 0) throw new ApiError(409, 'no backup recipients: add the public key of an offline age identity first (keyfleet backup-keys add)');
  const store = await storage();
  const started: StartedBackup[] = [];
  for (const hostId of hostIds) {
    const id = newBackupId();
    const { token, hash } = newBackupToken();
    const key = localBackupKey(hostId, id);
    const uploadId =
      store.uploadMode === 's3-multipart'
        ? await store.startMultipart(key).catch((err: Error) => {
            throw new ApiError(503, `backup storage is unavailable: ${err.message}`);
          })
        : null;
    const expiresAt = new Date(Date.now() + opts.expiresInMs + 2 * 3600_000);
    await db
      .insertInto('backups')
      .values({
        id,
        host_id: hostId,
        schedule_id: opts.scheduleId ?? null,
        state: 'running',
        recipients: JSON.stringify(keys.map((k) => ({ keyId: k.id, name: k.name, recipient: k.recipient }))),
        storage_kind: store.kind,
        storage_key: key,
        upload_token_hash: hash,
        upload_expires_at: expiresAt,
        upload_id: uploadId,
      })
      .execute();
    // The token reaches the agent through the secret store: only its reference is stored with the task.
    await secrets.put(uploadSecretName(id), token, opts.actor);
    try {
      const { tasks } = await createTaskBatch(coreDb, {
        type: 'backup.run',
        target: { hostId },
        params: {
          backupId: id,
          recipients: keys.map((k) => k.recipient),
          upload: { url: `/v1/backup-uploads/${id}`, token: { $secret: uploadSecretName(id) }, mode: store.uploadMode },
        },
        expiresInMs: opts.expiresInMs,
        createdBy: opts.actor,
      });
      const taskId = tasks[0]!.id;
      await db.updateTable('backups').set({ task_id: taskId }).where('id', '=', id).execute();
      started.push({ id, hostId, taskId });
    } catch (err) {
      await db
        .updateTable('backups')
        .set({ state: 'failed', error: (err as Error).message, upload_state: 'abandoned', upload_token_hash: null })
        .where('id', '=', id)
        .execute();
      await secrets.delete(uploadSecretName(id));
      throw err;
    }
  }
  return started;
}
