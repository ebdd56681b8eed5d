import type { Kysely } from 'kysely';
import type { ApiDeps } from '../../../api/api-deps.js';
import { createTaskBatch } from '../../../api/tasks/create-task-batch.js';
import type { DbSource } from '../../../store/create-db.js';
import type { Database } from '../../../store/database.js';
import { backupsDb } from '../backups-tables.js';
import { drillHubBackup } from '../hub/drill-hub-backup.js';
import { HUB_HOST_ID } from '../hub/hub-backup-manifest.js';
import { runHubBackup } from '../hub/run-hub-backup.js';
import { startBackups } from '../start-backups.js';
import { startDrill } from '../start-drill.js';
import type { BackupStorage } from '../storage/backup-storage.js';

export interface StartDueUnitsDeps {
  db: Kysely<Database>;
  secrets: ApiDeps['secrets'];
  dispatcher: Pick<ApiDeps['dispatcher'], 'kick'>;
  storage: () => Promise<BackupStorage>;
  /** The hub's own database, for schedules of it. */
  dbSource?: DbSource;
}

/**
 * Starts the units whose time has come and whose host (a drill's: the drill host) is online, as
 * many as each schedule's fleet-wide cap leaves room for; the rest wait in order of their start
 * time. Claims happen under a row lock on the schedule, so hubs claiming at once never exceed
 * the cap nor start a unit twice; the slow part (storage, task creation) runs after the claim
 * is committed, so the lock is held for milliseconds.
 */
export async function startDueUnits(deps: StartDueUnitsDeps, now: Date): Promise<number> {
  const db = backupsDb(deps.db);
  const schedules = await db
    .selectFrom('backup_schedules as s')
    .selectAll('s')
    .where('s.paused', '=', false)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('backup_schedule_units as u')
          .select('u.host_id')
          .whereRef('u.schedule_id', '=', 's.id')
          .where('u.state', '=', 'pending')
          .where('u.start_at', '<=', now),
      ),
    )
    .execute();
  let started = 0;
  for (const s of schedules) {
    const claimed = await db.transaction().execute(async (trx) => {
      const locked = await trx.selectFrom('backup_schedules').select(['paused', 'max_concurrent']).where('id', '=', s.id).forUpdate().executeTakeFirst();
      if (!locked || locked.paused) return [];
      const { busy } = await trx
        .selectFrom('backup_schedule_units as u')
        .leftJoin('tasks as t', 't.id', 'u.task_id')
        .select((eb) => eb.fn.countAll<number>().as('busy'))
        .where('u.schedule_id', '=', s.id)
        .where((eb) =>
          eb.or([eb('u.state', '=', 'claimed'), eb.and([eb('u.state', '=', 'started'), eb('t.state', 'in', ['queued', 'dispatched', 'running'])])]),
        )
        .executeTakeFirstOrThrow();
      const room = locked.max_concurrent - Number(busy);
      if (room <= 0) return [];
      const pending = trx
        .selectFrom('backup_schedule_units as u')
        .select(['u.fire_time', 'u.host_id'])
        .where('u.schedule_id', '=', s.id)
        .where('u.state', '=', 'pending')
        .where('u.start_at', '<=', now);
      // The hub's own unit waits for no host: whichever hub claims it runs it.
      const due = await (s.hub
        ? pending
        : pending
            .innerJoin('hosts as h', (j) => (s.kind === 'drill' && s.drill ? j.on('h.id', '=', s.drill.hostId) : j.onRef('h.id', '=', 'u.host_id')))
            .where('h.status', '=', 'online')
      )
        .orderBy('u.start_at')
        .orderBy('u.host_id')
        .limit(room)
        .execute();
      for (const u of due) {
        await trx
          .updateTable('backup_schedule_units')
          .set({ state: 'claimed', claimed_at: now })
          .where('schedule_id', '=', s.id)
          .where('fire_time', '=', u.fire_time)
          .where('host_id', '=', u.host_id)
          .where('state', '=', 'pending')
          .execute();
      }
      return due;
    });
    const actor = `schedule ${s.name} (${s.id})`;
    for (const u of claimed) {
      const unit = db
        .updateTable('backup_schedule_units')
        .where('schedule_id', '=', s.id)
        .where('fire_time', '=', u.fire_time)
        .where('host_id', '=', u.host_id)
        .where('state', '=', 'claimed');
      try {
        if (s.hub && s.kind === 'drill') {
          // Drilled here, on the hub that claimed it, like a hub backup: the newest one is what matters.
          const newest = await db
            .selectFrom('backups')
            .select('id')
            .where('host_id', '=', HUB_HOST_ID)
            .where('state', 'in', ['stored', 'verified'])
            .orderBy('started_at', 'desc')
            .orderBy('id', 'desc')
            .executeTakeFirst();
          if (!newest) {
            await unit.set({ state: 'skipped', error: 'no stored backup of the hub to drill', finished_at: now }).execute();
            continue;
          }
          const { identitySecret, scratchUrl, scratchPasswordSecret } = s.drill!;
          const drill = await drillHubBackup(deps.db, deps.secrets, deps.storage, newest.id, { identitySecret, scratchUrl, scratchPasswordSecret });
          await unit.set({ state: drill.ok ? 'succeeded' : 'failed', backup_id: newest.id, error: drill.error ?? null, finished_at: new Date() }).execute();
        } else if (s.hub) {
          // Runs here, on the hub that claimed it; the unit ends with the backup (its task is this pass).
          const backup = await runHubBackup({ db: deps.db, dbSource: deps.dbSource, storage: deps.storage }, { scheduleId: s.id });
          await unit
            .set({ state: backup.state === 'stored' ? 'succeeded' : 'failed', backup_id: backup.id, error: backup.error ?? null, finished_at: new Date() })
            .execute();
        } else if (s.kind === 'task') {
          // Its host was online when claimed; like a scheduled backup, the task waits an hour for it at most.
          const { tasks } = await createTaskBatch(deps.db, {
            type: s.task!.type,
            target: { hostId: u.host_id },
            params: s.task!.params,
            expiresInMs: 3600_000,
            createdBy: actor,
          });
          await unit.set({ state: 'started', task_id: tasks[0]!.id }).execute();
        } else if (s.kind === 'backup') {
          const [backup] = await startBackups(deps.db, deps.secrets, deps.storage, [u.host_id], { expiresInMs: 3600_000, actor, scheduleId: s.id });
          await unit.set({ state: 'started', task_id: backup!.taskId, backup_id: backup!.id }).execute();
        } else {
          // The host's newest usable backup is the one whose restorability matters.
          const newest = await db
            .selectFrom('backups')
            .select('id')
            .where('host_id', '=', u.host_id)
            .where('state', 'in', ['stored', 'verified'])
            .orderBy('started_at', 'desc')
            .orderBy('id', 'desc')
            .executeTakeFirst();
          if (!newest) {
            await unit.set({ state: 'skipped', error: 'no stored backup of this host to drill', finished_at: now }).execute();
            continue;
          }
          const drill = await startDrill(deps.db, deps.secrets, newest.id, s.drill!, actor);
          await unit.set({ state: 'started', task_id: drill.taskId, backup_id: newest.id }).execute();
        }
        started++;
      } catch (err) {
        await unit.set({ state: 'failed', error: (err as Error).message, finished_at: now }).execute();
      }
    }
  }
  if (started > 0) deps.dispatcher.kick();
  return started;
}
