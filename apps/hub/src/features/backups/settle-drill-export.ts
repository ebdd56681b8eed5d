import type { Kysely } from 'kysely';
import type { ProjectedResult } from '../../dispatch/result-projection.js';
import type { Database } from '../../store/database.js';
import { uploadSecretName } from './backup-token.js';
import { exportsDb } from './export-tables.js';

/**
 * A drill's realm export, once the drill ended: its upload token dies with the task, and an
 * export the drill host did not complete fails with its reason (the sweeper removes whatever
 * storage holds of it). One that completed was marked stored by its upload's `complete`.
 */
export async function settleDrillExport(trx: Kysely<Database>, r: ProjectedResult<'backup.drill'>): Promise<void> {
  const exportId = (r.params as { export?: { exportId?: unknown } } | null)?.export?.exportId;
  if (typeof exportId !== 'string') return;
  await trx.deleteFrom('secrets').where('name', '=', uploadSecretName(exportId)).execute();
  const db = exportsDb(trx);
  await db.updateTable('backup_exports').set({ task_id: r.taskId }).where('id', '=', exportId).execute();
  const reported = r.output?.export;
  const error = reported?.ok
    ? 'the drill host reported the export stored, but its upload did not complete'
    : (reported?.error ?? (r.error ? `not exported: the drill ended with ${r.error.code}: ${r.error.message}` : `not exported: the drill ${r.outcome}`));
  await db
    .updateTable('backup_exports')
    .set({ state: 'failed', error: error.slice(0, 2000), upload_state: 'abandoned', upload_token_hash: null, finished_at: new Date(r.finishedAt) })
    .where('id', '=', exportId)
    .where('state', '=', 'running')
    .execute();
}
