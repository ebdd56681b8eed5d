import type { Kysely } from 'kysely';
import type { ProjectedResult, ResultProjections } from '../../dispatch/result-projection.js';
import type { Database } from '../../store/database.js';
import { uploadSecretName } from './backup-token.js';
import { backupsDb, type DrillRecord } from './backups-tables.js';
import { fileKeySecretName } from './identity-for-call.js';
import { settleDrillExport } from './settle-drill-export.js';

/**
 * The `$secret` names in a task's params that die with the task: its single-use token and, when
 * the operator gave an identity for the call, the backup's file key (beside the token, or as a
 * drill's identity).
 */
function tokenSecrets(params: unknown): string[] {
  type Ref = { $secret?: string } | undefined;
  const p = params as { download?: { token?: Ref }; source?: { token?: Ref }; identity?: Ref } | null;
  const tokens = [p?.download?.token?.$secret, p?.source?.token?.$secret].filter((n): n is string => typeof n === 'string' && n.startsWith('backup-download.'));
  const identity = p?.identity?.$secret;
  return [...tokens, ...tokens.map(fileKeySecretName), ...(identity?.startsWith('backup-download.') ? [identity] : [])];
}

/**
 * A backup.run that did not succeed fails its catalog entry (the sweeper removes whatever
 * storage holds of it); one that succeeded was already marked stored by the upload's
 * `complete`, after the hub checked the object. Drills record their outcome per backup.
 */
export const backupsProjections: ResultProjections = {
  'backup.restore': async (trx: Kysely<Database>, r: ProjectedResult<'backup.restore'>) => {
    const names = tokenSecrets(r.params);
    if (names.length > 0) await trx.deleteFrom('secrets').where('name', 'in', names).execute();
  },
  'backup.run': async (trx: Kysely<Database>, r: ProjectedResult<'backup.run'>) => {
    const db = backupsDb(trx);
    const backupId = (r.params as { backupId?: unknown } | null)?.backupId;
    if (typeof backupId !== 'string') return;
    await trx.deleteFrom('secrets').where('name', '=', uploadSecretName(backupId)).execute();
    if (r.outcome === 'succeeded') return;
    await db
      .updateTable('backups')
      .set({
        state: 'failed',
        error: r.error ? `${r.error.code}: ${r.error.message}` : r.outcome,
        upload_state: 'abandoned',
        upload_token_hash: null,
        finished_at: new Date(r.finishedAt),
      })
      .where('id', '=', backupId)
      .where('state', '=', 'running')
      .execute();
  },
  'backup.drill': async (trx: Kysely<Database>, r: ProjectedResult<'backup.drill'>) => {
    const db = backupsDb(trx);
    const backupId = (r.params as { backupId?: unknown } | null)?.backupId;
    if (typeof backupId !== 'string') return;
    const names = tokenSecrets(r.params);
    if (names.length > 0) await trx.deleteFrom('secrets').where('name', 'in', names).execute();
    await settleDrillExport(trx, r);
    const ok = r.outcome === 'succeeded' && r.output?.ok === true;
    const drill: DrillRecord = {
      ok,
      taskId: r.taskId,
      hostId: r.hostId,
      at: r.finishedAt,
      ...(r.output ? { restoreMs: r.output.restoreMs, checks: r.output.checks } : {}),
      ...(r.error ? { error: r.error.message } : {}),
    };
    const update = db
      .updateTable('backups')
      .set({ last_drill: JSON.stringify(drill) })
      .where('id', '=', backupId);
    if (ok) {
      await update
        .set({ state: 'verified', verified_at: new Date(r.finishedAt), error: null })
        .where('state', 'in', ['stored', 'verified'])
        .execute();
    } else if (r.error?.code === 'handler_error') {
      // The drill ran and the backup did not hold up: it is not restorable.
      await update
        .set({ state: 'failed', error: `drill failed: ${r.error.message}` })
        .where('state', 'in', ['stored', 'verified'])
        .execute();
    } else {
      // Cancelled, expired or refused input: nothing was learnt about the backup itself.
      await update.execute();
    }
  },
};
