import type { Logger } from '@keyfleet/log';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../../store/database.js';
import { backupsDb } from '../backups-tables.js';
import { pruneBackups } from '../prune-backups.js';

/** A claim older than this belongs to a hub that stopped between claiming a unit and starting it. */
const STALE_CLAIM_MS = 5 * 60_000;
/** Settled runs kept per schedule (with their units): `schedules show` lists 10; a minutely schedule would otherwise grow without end. */
const KEPT_RUNS = 100;

/**
 * Brings the schedules' units up to date, then closes finished runs; every step is a
 * conditional update, so every hub may run it at once:
 * - started units take their task's end (succeeded, or failed with the task's error);
 * - a claim a hub never followed up fails, freeing its place under the cap;
 * - a unit whose window closed while its host (a drill's: the drill host) was not online is
 *   missed (never the hub's own unit: whichever hub ticks next takes it) (a unit waiting only for the cap keeps waiting: it is owed until the next run);
 * - a run with no live unit left is settled with its outcome (the last 100 are kept), and a backup schedule's retention
 *   is applied to its own backups by the hub that settled it (`pruneBackups`: never a host's
 *   newest verified backup, never a running one, no lock a backup would wait for).
 */
export async function settleScheduleRuns(coreDb: Kysely<Database>, now: Date, log: Logger): Promise<{ settled: number; pruned: number }> {
  const db = backupsDb(coreDb);
  await sql`
    UPDATE backup_schedule_units u
    SET state = CASE WHEN t.state = 'succeeded' THEN 'succeeded' ELSE 'failed' END,
        error = CASE WHEN t.state = 'succeeded' THEN NULL ELSE coalesce(t.error->>'message', 'task ' || t.state) END,
        finished_at = coalesce(t.finished_at, ${now})
    FROM tasks t
    WHERE t.id = u.task_id AND u.state = 'started' AND t.state IN ('succeeded', 'failed', 'cancelled', 'expired')`.execute(db);
  await db
    .updateTable('backup_schedule_units')
    .set({ state: 'failed', error: 'the hub that claimed it stopped before starting it', finished_at: now })
    .where('state', '=', 'claimed')
    .where('claimed_at', '<', new Date(now.getTime() - STALE_CLAIM_MS))
    .execute();
  await sql`
    UPDATE backup_schedule_units u
    SET state = 'missed', error = 'the host was not online before the window closed', finished_at = ${now}
    FROM backup_schedules s
    WHERE s.id = u.schedule_id AND u.state = 'pending' AND u.window_end <= ${now}
      -- The hub's own unit waits for no host: any hub ticking takes it (a later run supersedes it).
      AND NOT s.hub
      AND NOT EXISTS (
        SELECT 1 FROM hosts h
        WHERE h.id = CASE WHEN s.kind = 'drill' THEN s.drill->>'hostId' ELSE u.host_id END AND h.status = 'online')`.execute(db);

  const settled = await sql<{ schedule_id: string }>`
    UPDATE backup_schedule_fires f
    SET settled_at = ${now},
        outcome = (
          SELECT jsonb_build_object(
            'succeeded', count(*) FILTER (WHERE u.state = 'succeeded'),
            'failed', count(*) FILTER (WHERE u.state = 'failed'),
            'missed', count(*) FILTER (WHERE u.state = 'missed'),
            'skipped', count(*) FILTER (WHERE u.state = 'skipped'))
          FROM backup_schedule_units u WHERE u.schedule_id = f.schedule_id AND u.fire_time = f.fire_time)
    WHERE f.settled_at IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM backup_schedule_units u
        WHERE u.schedule_id = f.schedule_id AND u.fire_time = f.fire_time AND u.state IN ('pending', 'claimed', 'started'))
    RETURNING f.schedule_id`.execute(db);

  let pruned = 0;
  const ids = [...new Set(settled.rows.map((r) => r.schedule_id))];
  if (ids.length > 0) {
    await sql`
      DELETE FROM backup_schedule_fires f
      WHERE f.schedule_id IN (${sql.join(ids)}) AND f.settled_at IS NOT NULL
        AND f.fire_time < (
          SELECT k.fire_time FROM backup_schedule_fires k WHERE k.schedule_id = f.schedule_id
          ORDER BY k.fire_time DESC OFFSET ${KEPT_RUNS - 1} LIMIT 1)`.execute(db);
    const withRetention = await db
      .selectFrom('backup_schedules')
      .select(['id', 'name', 'retention'])
      .where('id', 'in', ids)
      .where('kind', '=', 'backup')
      .where('retention', 'is not', null)
      .execute();
    for (const s of withRetention) {
      const result = await pruneBackups(coreDb, { scheduleId: s.id }, s.retention!, false);
      pruned += result.pruned.length;
      if (result.pruned.length > 0) log.info({ schedule: s.name, pruned: result.pruned.map((p) => p.id) }, 'schedule retention pruned backups');
    }
  }
  return { settled: settled.rows.length, pruned };
}
