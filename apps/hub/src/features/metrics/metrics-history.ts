import { parseSeriesKey } from '@keyfleet/proto/v1';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import { DOWNSAMPLED_STEP_SEC, metricsDb } from './metrics-tables.js';

/** Points per series a query returns at most: the step grows to keep under it. */
export const MAX_POINTS = 1_000;
const MAX_SERIES = 200;

export interface SeriesHistory {
  key: string;
  name: string;
  labels: Record<string, string>;
  /** `gauge`: the value (averaged over each step); `rate`: a counter's increase per second. */
  kind: 'gauge' | 'rate';
  points: Array<[unixSec: number, value: number]>;
}

export const isCounter = (name: string) => name.endsWith('_total');

/**
 * A host's history of the named metrics (all when none named) since `sinceSec` ago, one point per
 * `stepSec`. Raw samples serve the last day; older windows read the 5-minute rows. Aggregation
 * runs in Postgres, so the answer is bounded by series × points whatever the window.
 */
export async function metricsHistory(
  coreDb: Kysely<Database>,
  q: { hostId: string; names: string[]; sinceSec: number; stepSec?: number; rawRetentionSec: number },
): Promise<{ stepSec: number; from: Date; to: Date; series: SeriesHistory[] }> {
  const db = metricsDb(coreDb);
  const raw = q.sinceSec <= q.rawRetentionSec;
  const minStep = raw ? 1 : DOWNSAMPLED_STEP_SEC;
  // By default ~240 points, never finer than the 15 s agents sample at.
  const wanted = q.stepSec ?? Math.max(15, Math.ceil(q.sinceSec / 240));
  const stepSec = Math.max(minStep, wanted, Math.ceil(q.sinceSec / MAX_POINTS));
  const to = new Date();
  const from = new Date(to.getTime() - q.sinceSec * 1000);
  const nameFilter = q.names.length > 0 ? sql`AND split_part(e.key, '{', 1) = ANY(${q.names}::text[])` : sql``;
  // Gauges: mean per step; counters: last value per step, turned into a rate below.
  const rows = await sql<{ t: number; key: string; value: number }>`
    SELECT (floor(extract(epoch FROM m.at) / ${stepSec}) * ${stepSec})::float8 AS t, e.key,
           CASE WHEN split_part(e.key, '{', 1) LIKE '%\\_total' THEN max(e.value::float8) ELSE avg(e.value::float8) END AS value
      FROM host_metrics m, jsonb_each_text(m.series) e
     WHERE m.host_id = ${q.hostId} AND m.step_sec = ${raw ? 0 : DOWNSAMPLED_STEP_SEC} AND m.at >= ${from} ${nameFilter}
     GROUP BY 1, 2
     ORDER BY 2, 1`.execute(db);
  const byKey = new Map<string, Array<[number, number]>>();
  for (const r of rows.rows) {
    let points = byKey.get(r.key);
    if (!points) {
      if (byKey.size >= MAX_SERIES) continue;
      points = [];
      byKey.set(r.key, points);
    }
    points.push([Number(r.t), Number(r.value)]);
  }
  const series: SeriesHistory[] = [];
  for (const [key, points] of byKey) {
    const parsed = parseSeriesKey(key) ?? { name: key, labels: {} };
    if (!isCounter(parsed.name)) {
      series.push({ key, ...parsed, kind: 'gauge', points });
      continue;
    }
    const rates: Array<[number, number]> = [];
    for (let i = 1; i < points.length; i++) {
      const [t0, v0] = points[i - 1]!;
      const [t1, v1] = points[i]!;
      // A counter that went down was reset (Keycloak restarted): its new value is the increase.
      rates.push([t1, (v1 >= v0 ? v1 - v0 : v1) / (t1 - t0)]);
    }
    series.push({ key, ...parsed, kind: 'rate', points: rates });
  }
  return { stepSec, from, to, series };
}
