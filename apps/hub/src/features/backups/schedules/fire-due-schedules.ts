import { sql, type Kysely } from 'kysely';
import { parseSelector } from '../../../api/parse-selector.js';
import type { Database } from '../../../store/database.js';
import { backupsDb } from '../backups-tables.js';
import { HUB_HOST_ID } from '../hub/hub-backup-manifest.js';
import { scheduleCron } from './schedule-cron.js';
import { spreadOffset } from './spread-offset.js';

export interface Firing {
  scheduleId: string;
  fireTime: Date;
  units: number;
}

// Keeps each multi-row INSERT well under Postgres' 65535 bind parameters.
const CHUNK = 1000;

/**
 * Fires every unpaused schedule whose newest cron time at or before `now` is after what it has
 * dealt with: one run (a fire row) and one unit per matching host, each to start at its spread
 * offset in the window. Only the newest missed time fires, so a hub back from downtime runs a
 * missed schedule once. The fire row's primary key (schedule, cron time) is the fire key: of
 * several hubs firing at once exactly one inserts it, and only that one writes the units.
 */
export async function fireDueSchedules(coreDb: Kysely<Database>, now: Date): Promise<Firing[]> {
  const db = backupsDb(coreDb);
  const schedules = await db.selectFrom('backup_schedules').selectAll().where('paused', '=', false).execute();
  const fired: Firing[] = [];
  for (const s of schedules) {
    const fireTime = scheduleCron(s.cron, s.timezone).dueSince(s.fired_through ?? s.created_at, now);
    if (!fireTime) continue;
    let hosts = db.selectFrom('hosts').select('id').orderBy('id');
    if (s.selector) hosts = hosts.where(sql<boolean>`labels @> ${JSON.stringify(parseSelector(s.selector))}::jsonb`);
    const hostIds = s.hub ? [HUB_HOST_ID] : (await hosts.execute()).map((h) => h.id);
    const windowMs = s.window_seconds * 1000;
    // Fired inside its window (the usual case), the spread goes as planned; a run the hubs missed
    // altogether gets a fresh window from now, or its offline hosts would have no time to return.
    const base = now.getTime() - fireTime.getTime() < windowMs ? fireTime.getTime() : now.getTime();
    const won = await db.transaction().execute(async (trx) => {
      const fire = await trx
        .insertInto('backup_schedule_fires')
        .values({ schedule_id: s.id, fire_time: fireTime, fired_at: now, units: hostIds.length })
        .onConflict((oc) => oc.columns(['schedule_id', 'fire_time']).doNothing())
        .returning('schedule_id')
        .executeTakeFirst();
      if (!fire) return false;
      // What an earlier run still owes is not owed twice: the new run covers those hosts.
      await trx
        .updateTable('backup_schedule_units')
        .set({ state: 'missed', error: `superseded by the run of ${fireTime.toISOString()} before it could start`, finished_at: now })
        .where('schedule_id', '=', s.id)
        .where('state', '=', 'pending')
        .execute();
      for (let i = 0; i < hostIds.length; i += CHUNK) {
        await trx
          .insertInto('backup_schedule_units')
          .values(
            hostIds.slice(i, i + CHUNK).map((hostId) => ({
              schedule_id: s.id,
              fire_time: fireTime,
              host_id: hostId,
              start_at: new Date(base + spreadOffset(s.id, hostId, fireTime, windowMs)),
              window_end: new Date(base + windowMs),
              state: 'pending' as const,
            })),
          )
          .execute();
      }
      await trx
        .updateTable('backup_schedules')
        .set({ fired_through: fireTime })
        .where('id', '=', s.id)
        .where((eb) => eb.or([eb('fired_through', 'is', null), eb('fired_through', '<', fireTime)]))
        .execute();
      return true;
    });
    if (won) fired.push({ scheduleId: s.id, fireTime, units: hostIds.length });
  }
  return fired;
}
