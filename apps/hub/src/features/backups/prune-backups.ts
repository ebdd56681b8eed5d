import type { Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import { backupsDb } from './backups-tables.js';
import { prunable, type RetentionPolicy } from './retention-policy.js';

export interface PruneScope {
  /** Only this host's backups. */
  host?: string;
  /** Only the backups this schedule took (its own retention). */
  scheduleId?: string;
}

export interface PruneResult {
  pruned: Array<{ id: string; hostId: string; startedAt: string }>;
  kept: number;
}

/**
 * Lets usable backups go by a retention policy, per host (`prunable`: never a host's newest
 * verified one). Row by row and conditionally: no lock is held that a running or new backup
 * would wait for, and running backups are never candidates; the sweeper removes the objects
 * (and retries if storage is away). Safe on several hubs at once.
 */
export async function pruneBackups(coreDb: Kysely<Database>, scope: PruneScope, policy: RetentionPolicy, dryRun: boolean): Promise<PruneResult> {
  const db = backupsDb(coreDb);
  let q = db.selectFrom('backups').select(['id', 'host_id', 'started_at', 'state']).where('state', 'in', ['stored', 'verified']);
  if (scope.host) q = q.where('host_id', '=', scope.host);
  if (scope.scheduleId) q = q.where('schedule_id', '=', scope.scheduleId);
  const rows = await q.execute();
  const byHost = new Map<string, typeof rows>();
  for (const r of rows) byHost.set(r.host_id, [...(byHost.get(r.host_id) ?? []), r]);
  const pruned: PruneResult['pruned'] = [];
  for (const [hostId, backups] of byHost) {
    for (const b of prunable(
      backups.map((r) => ({ id: r.id, startedAt: r.started_at, verified: r.state === 'verified' })),
      policy,
    )) {
      pruned.push({ id: b.id, hostId, startedAt: b.startedAt.toISOString() });
    }
  }
  if (!dryRun && pruned.length > 0) {
    await db
      .updateTable('backups')
      .set({ state: 'pruned', upload_state: 'abandoned' })
      .where(
        'id',
        'in',
        pruned.map((p) => p.id),
      )
      .where('state', 'in', ['stored', 'verified'])
      .execute();
  }
  return { pruned, kept: rows.length - pruned.length };
}
