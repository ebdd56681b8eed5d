import { z } from '@hono/zod-openapi';
import { type Kysely, type Selectable, sql } from 'kysely';
import { toIso } from '../../../api/to-iso.js';
import type { Database } from '../../../store/database.js';
import { type BackupSchedulesTable, backupsDb } from '../backups-tables.js';
import { scheduleCron } from './schedule-cron.js';
import { ScheduleTaskSchema } from './schedule-task.js';

const keep = z.number().int().min(0).max(100_000).optional();

/** A retention policy as the prune route takes it (restic semantics, per host). */
export const RetentionSchema = z
  .object({ keepLast: keep, keepHourly: keep, keepDaily: keep, keepWeekly: keep, keepMonthly: keep, keepYearly: keep })
  .strict()
  .openapi('RetentionPolicy');

const UnitCounts = z.object({
  pending: z.number(),
  running: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  missed: z.number(),
  skipped: z.number(),
});

const Run = z
  .object({
    fireTime: z.string().openapi({ description: 'the cron time this run is for' }),
    firedAt: z.string(),
    units: z.number().openapi({ description: 'hosts the selector matched when it fired' }),
    settledAt: z.string().nullable().openapi({ description: 'when its last unit ended; null while it runs' }),
    counts: UnitCounts,
  })
  .openapi('BackupScheduleRun');

export const ScheduleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['backup', 'drill', 'task']),
    cron: z.string(),
    timezone: z.string(),
    selector: z.string().nullable(),
    windowSeconds: z.number(),
    maxConcurrent: z.number(),
    retention: RetentionSchema.nullable(),
    drill: z.object({ hostId: z.string(), identitySecret: z.string(), scratchUrl: z.string(), scratchPasswordSecret: z.string().optional() }).nullable(),
    task: ScheduleTaskSchema.nullable(),
    hub: z.boolean().openapi({ description: 'a backup schedule of the hub’s own database' }),
    paused: z.boolean(),
    createdAt: z.string(),
    createdBy: z.string(),
    nextFireAt: z.string().nullable().openapi({ description: 'the next cron time; null while paused' }),
    lastRun: Run.nullable(),
  })
  .openapi('BackupSchedule');

export const ScheduleDetailSchema = ScheduleSchema.extend({
  runs: z.array(Run).openapi({ description: 'the last 10 runs, newest first' }),
  lastRunUnits: z
    .array(
      z.object({
        hostId: z.string(),
        state: z.enum(['pending', 'claimed', 'started', 'succeeded', 'failed', 'missed', 'skipped']),
        startAt: z.string(),
        windowEnd: z.string(),
        backupId: z.string().nullable(),
        taskId: z.string().nullable(),
        error: z.string().nullable(),
      }),
    )
    .openapi({ description: 'each host of the newest run' }),
}).openapi('BackupScheduleDetail');

/** One firing of a schedule as the API shows it; the CLI describes it from this type. */
export type BackupScheduleRun = z.infer<typeof Run>;

/** Runs of the given schedules, newest first (at most `perSchedule` each), with their units counted by state. */
export async function scheduleRuns(coreDb: Kysely<Database>, scheduleIds: string[], perSchedule: number): Promise<Map<string, BackupScheduleRun[]>> {
  const runs = new Map<string, BackupScheduleRun[]>();
  if (scheduleIds.length === 0) return runs;
  const db = backupsDb(coreDb);
  const rows = await sql<{
    schedule_id: string;
    fire_time: Date;
    fired_at: Date;
    units: number;
    settled_at: Date | null;
    pending: number;
    running: number;
    succeeded: number;
    failed: number;
    missed: number;
    skipped: number;
  }>`
    SELECT f.schedule_id, f.fire_time, f.fired_at, f.units, f.settled_at,
      count(u.host_id) FILTER (WHERE u.state = 'pending')::int AS pending,
      count(u.host_id) FILTER (WHERE u.state IN ('claimed', 'started'))::int AS running,
      count(u.host_id) FILTER (WHERE u.state = 'succeeded')::int AS succeeded,
      count(u.host_id) FILTER (WHERE u.state = 'failed')::int AS failed,
      count(u.host_id) FILTER (WHERE u.state = 'missed')::int AS missed,
      count(u.host_id) FILTER (WHERE u.state = 'skipped')::int AS skipped
    FROM (
      SELECT *, row_number() OVER (PARTITION BY schedule_id ORDER BY fire_time DESC) AS n
      FROM backup_schedule_fires WHERE schedule_id IN (${sql.join(scheduleIds)})
    ) f
    LEFT JOIN backup_schedule_units u ON u.schedule_id = f.schedule_id AND u.fire_time = f.fire_time
    WHERE f.n <= ${perSchedule}
    GROUP BY f.schedule_id, f.fire_time, f.fired_at, f.units, f.settled_at
    ORDER BY f.fire_time DESC`.execute(db);
  for (const r of rows.rows) {
    const list = runs.get(r.schedule_id) ?? [];
    list.push({
      fireTime: toIso(new Date(r.fire_time)),
      firedAt: toIso(new Date(r.fired_at)),
      units: r.units,
      settledAt: r.settled_at ? toIso(new Date(r.settled_at)) : null,
      counts: { pending: r.pending, running: r.running, succeeded: r.succeeded, failed: r.failed, missed: r.missed, skipped: r.skipped },
    });
    runs.set(r.schedule_id, list);
  }
  return runs;
}

export function scheduleView(s: Selectable<BackupSchedulesTable>, runs: BackupScheduleRun[], now: Date) {
  const next = s.paused ? null : scheduleCron(s.cron, s.timezone).nextAfter(now);
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    cron: s.cron,
    timezone: s.timezone,
    selector: s.selector,
    hub: s.hub,
    windowSeconds: s.window_seconds,
    maxConcurrent: s.max_concurrent,
    retention: s.retention,
    drill: s.drill,
    task: s.task ?? null,
    paused: s.paused,
    createdAt: toIso(s.created_at),
    createdBy: s.created_by,
    nextFireAt: next ? toIso(next) : null,
    lastRun: runs[0] ?? null,
  };
}
