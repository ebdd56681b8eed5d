import type { Kysely } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { createTaskBatch } from '../../api/tasks/create-task-batch.js';
import type { Database } from '../../store/database.js';
import { uploadSecretName } from './backup-token.js';
import { backupsDb } from './backups-tables.js';
import { activeRecipients, openBackupEntry } from './open-backup-entry.js';
import type { BackupStorage } from './storage/backup-storage.js';

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
  const recipients = await activeRecipients(coreDb);
  const store = await storage();
  const started: StartedBackup[] = [];
  for (const hostId of hostIds) {
    const { id, token } = await openBackupEntry(coreDb, store, hostId, recipients, opts);
    // The token reaches the agent through the secret store: only its reference is stored with the task.
    await secrets.put(uploadSecretName(id), token, opts.actor);
    try {
      const { tasks } = await createTaskBatch(coreDb, {
        type: 'backup.run',
        target: { hostId },
        params: {
          backupId: id,
          recipients: recipients.map((k) => k.recipient),
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
