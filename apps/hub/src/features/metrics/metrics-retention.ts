import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../../store/database.js';
import { DOWNSAMPLED_STEP_SEC, type MetricsTables, metricsDb } from './metrics-tables.js';

export interface RetentionPolicy {
  /** How long raw samples are kept (default 24 h). */
  rawSec: number;
  /** How long 5-minute rows are kept (default 30 days). */
  downsampledSec: number;
  /** Rows one DELETE removes, so retention never holds long locks or a huge transaction. */
  batch: number;
}

/** Advisory lock key that serialises retention across hubs ("kfmr"). */
const RETENTION_LOCK = 0x6b666d72;

export const defaultRetention = (): RetentionPolicy => ({
  rawSec: Number(process.env.KEYFLEET_METRICS_RAW_RETENTION_SEC) || 86_400,
  downsampledSec: Number(process.env.KEYFLEET_METRICS_RETENTION_SEC) || 30 * 86_400,
  batch: 5_000,
});

/**
 * Folds raw samples into 5-minute rows (gauges averaged, counters their last value) for every
 * complete bucket since the newest 5-minute row, then deletes what is past retention in batches.
 * Every hub may call it: one runs at a time, the others return at once.
 */
export async function runRetention(coreDb: Kysely<Database>, policy: RetentionPolicy = defaultRetention()): Promise<{ downsampled: number; deleted: number }> {
  // Folding and deleting raw samples share one snapshot: a sample committed between the fold and
  // the delete (late, or backfilled) would otherwise be deleted without ever being folded.
  const raw = await metricsDb(coreDb)
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (db) => {
      // One hub at a time: a second one would fold on a stale snapshot and fail to serialize.
      const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${RETENTION_LOCK}) AS locked`.execute(db);
      if (!rows[0]?.locked) return { downsampled: 0, deleted: 0 };
      const newest = await db
        .selectFrom('host_metrics')
        .select((eb) => eb.fn.max('at').as('at'))
        .where('step_sec', '=', DOWNSAMPLED_STEP_SEC)
        .executeTakeFirst();
      // Recompute the newest bucket too: it may have been folded before all its samples arrived.
      const from = newest?.at ? new Date(newest.at) : new Date(0);
      const completeBuckets = sql`m.at < to_timestamp(floor(extract(epoch FROM now()) / ${DOWNSAMPLED_STEP_SEC}) * ${DOWNSAMPLED_STEP_SEC})`;
      let downsampled = await fold(db, sql`m.at >= ${from} AND ${completeBuckets}`, 'replace');
      // Raw samples about to leave that were never folded (they arrived late, or were backfilled):
      // their buckets are filled once, never overwritten by what is left of a half-deleted bucket.
      downsampled += await fold(db, sql`m.at < ${from} AND m.at < now() - ${policy.rawSec} * interval '1 second'`, 'keep');
      return { downsampled, deleted: await deleteOlder(db, 0, policy.rawSec, policy.batch) };
    });
  const deleted = raw.deleted + (await deleteOlder(metricsDb(coreDb), DOWNSAMPLED_STEP_SEC, policy.downsampledSec, policy.batch));
  return { downsampled: raw.downsampled, deleted };
}

/** Deletes rows of one resolution older than `keepSec`, `batch` rows per statement. */
async function deleteOlder(db: Kysely<Database & MetricsTables>, stepSec: number, keepSec: number, batch: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const res = await sql`
      DELETE FROM host_metrics WHERE (host_id, step_sec, at) IN (
        SELECT host_id, step_sec, at FROM host_metrics
         WHERE step_sec = ${stepSec} AND at < now() - ${keepSec} * interval '1 second'
         LIMIT ${batch})`.execute(db);
    const n = Number(res.numAffectedRows ?? 0);
    deleted += n;
    if (n < batch) return deleted;
  }
}

/** Folds the raw samples `where` selects into 5-minute rows; returns how many rows it wrote. */
async function fold(db: Kysely<Database & MetricsTables>, where: RawBuilder<unknown>, existing: 'replace' | 'keep'): Promise<number> {
  const step = DOWNSAMPLED_STEP_SEC;
  const onConflict = existing === 'replace' ? sql`DO UPDATE SET series = excluded.series` : sql`DO NOTHING`;
  const res = await sql<{ n: number }>`
    WITH buckets AS (
      SELECT m.host_id, to_timestamp(floor(extract(epoch FROM m.at) / ${step}) * ${step}) AS bucket, e.key,
             CASE WHEN e.key ~ '^[^{]*_total($|\{)' THEN max(e.value::float8) ELSE avg(e.value::float8) END AS value
        FROM host_metrics m, jsonb_each_text(m.series) e
       WHERE m.step_sec = 0 AND ${where}
       GROUP BY 1, 2, 3
    ), ins AS (
      INSERT INTO host_metrics (host_id, step_sec, at, series)
      SELECT host_id, ${step}, bucket, jsonb_object_agg(key, value) FROM buckets GROUP BY host_id, bucket
      ON CONFLICT (host_id, step_sec, at) ${onConflict}
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM ins`.execute(db);
  return res.rows[0]?.n ?? 0;
}
