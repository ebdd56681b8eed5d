import type { Logger } from '@keyfleet/log';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import { uploadSecretName } from './backup-token.js';
import { exportsDb } from './export-tables.js';
import { removeAbandonedObjects } from './remove-abandoned-objects.js';
import type { BackupStorage } from './storage/backup-storage.js';

/**
 * The realm exports' part of the sweep, safe on every hub at once: an export whose upload
 * expired fails; the exports of a pruned or failed backup go with it (retention removes a
 * backup's exports too); what storage holds of those is removed.
 */
export async function sweepBackupExports(coreDb: Kysely<Database>, storage: () => Promise<BackupStorage>, log: Logger): Promise<{ cleaned: number }> {
  const db = exportsDb(coreDb);
  const expired = await db
    .updateTable('backup_exports')
    .set({ state: 'failed', error: 'interrupted: the upload expired before it completed', upload_state: 'abandoned', upload_token_hash: null })
    .where('state', '=', 'running')
    .where('upload_expires_at', '<', new Date())
    .returning('id')
    .execute();
  for (const { id } of expired) await coreDb.deleteFrom('secrets').where('name', '=', uploadSecretName(id)).execute();
  await db
    .updateTable('backup_exports')
    .set({ state: 'pruned', upload_state: 'abandoned', upload_token_hash: null })
    .where('state', 'in', ['running', 'stored'])
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('backups')
          .select('backups.id')
          .whereRef('backups.id', '=', 'backup_exports.backup_id')
          .where('backups.state', 'in', ['pruned', 'failed']),
      ),
    )
    .execute();

  const abandoned = await db
    .selectFrom('backup_exports')
    .select(['id', 'storage_key', 'storage_kind', 'upload_id'])
    .where('upload_state', '=', 'abandoned')
    .limit(100)
    .execute();
  const cleaned = await removeAbandonedObjects(
    abandoned,
    storage,
    (id) => db.updateTable('backup_exports').set({ upload_state: 'closed' }).where('id', '=', id).where('upload_state', '=', 'abandoned').execute(),
    log,
    'realm export',
  );
  return { cleaned };
}
