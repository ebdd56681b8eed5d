import type { Logger } from '@keyfleet/log';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import { uploadSecretName } from './backup-token.js';
import { backupsDb } from './backups-tables.js';
import { removeAbandonedObjects } from './remove-abandoned-objects.js';
import type { BackupStorage } from './storage/backup-storage.js';

/**
 * One pass of clean-up, safe to run on every hub at once (each step is a conditional update
 * or an idempotent delete): running backups whose task ended without completing, or whose
 * upload token expired, fail; failed backups lose whatever storage holds of them (a partial
 * file, an S3 multipart upload) so nothing interrupted is ever listed or kept as usable.
 */
export async function sweepBackups(coreDb: Kysely<Database>, storage: () => Promise<BackupStorage>, log: Logger): Promise<{ failed: number; cleaned: number }> {
  const db = backupsDb(coreDb);
  const stale = await db
    .updateTable('backups')
    .set({
      state: 'failed',
      error: sql<string>`coalesce(error, 'interrupted: the backup task ended or its upload expired before the upload completed')`,
      upload_state: 'abandoned',
      upload_token_hash: null,
      finished_at: sql<Date>`coalesce(finished_at, now())`,
    })
    .where('state', '=', 'running')
    .where((eb) =>
      eb.or([
        eb('upload_expires_at', '<', new Date()),
        eb.exists(
          eb
            .selectFrom('tasks')
            .select('tasks.id')
            .whereRef('tasks.id', '=', 'backups.task_id')
            .where('tasks.state', 'in', ['failed', 'cancelled', 'expired'])
            // The task's own result may be on its way to `complete`; give it a minute.
            .where('tasks.finished_at', '<', new Date(Date.now() - 60_000)),
        ),
      ]),
    )
    .returning('id')
    .execute();
  for (const { id } of stale) await coreDb.deleteFrom('secrets').where('name', '=', uploadSecretName(id)).execute();
  // A restore or drill task that expired before it ran never reaches its projection: its download
  // token (and a per-call file key) would stay sealed here. Tokens expire after 4 h; keep nothing past 5.
  await coreDb
    .deleteFrom('secrets')
    .where('name', 'like', 'backup-download.%')
    .where('created_at', '<', new Date(Date.now() - 5 * 3600_000))
    .execute();

  const abandoned = await db
    .selectFrom('backups')
    .select(['id', 'storage_key', 'storage_kind', 'upload_id'])
    .where('upload_state', '=', 'abandoned')
    .limit(100)
    .execute();
  const cleaned = await removeAbandonedObjects(
    abandoned,
    storage,
    (id) => db.updateTable('backups').set({ upload_state: 'closed' }).where('id', '=', id).where('upload_state', '=', 'abandoned').execute(),
    log,
    'backup',
  );
  return { failed: stale.length, cleaned };
}
