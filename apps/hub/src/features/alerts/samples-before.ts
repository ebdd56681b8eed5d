import { sql } from 'kysely';
import type { AlertsDb } from './alerts-tables.js';

/**
 * For each point (a host's sample at `at`), the oldest stored raw sample within `windowSec`
 * before it: where a rate starts. One query for any number of points, reading only the series
 * named in `names` (a sample holds ~30, a rate reads two or three): the evaluator asks for every
 * sample of a fleet, and one query per sample would swamp the database. Aligned with `points`;
 * undefined where the window holds no earlier sample.
 */
export async function samplesBefore(
  db: AlertsDb,
  points: ReadonlyArray<{ hostId: string; at: Date }>,
  windowSec: number,
  names: readonly string[],
): Promise<Array<Record<string, number> | undefined>> {
  if (points.length === 0) return [];
  const rows = await sql<{ i: number; series: Record<string, number> }>`
    SELECT p.i, b.series
      FROM jsonb_to_recordset(${JSON.stringify(points.map((p, i) => ({ i, host_id: p.hostId, at: p.at.toISOString() })))}::jsonb)
           AS p(i int, host_id text, at timestamptz)
     CROSS JOIN LATERAL (
       SELECT (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(m.series)
                WHERE split_part(key, '{', 1) = ANY(${[...names]})) AS series
         FROM host_metrics m
        WHERE m.host_id = p.host_id AND m.step_sec = 0 AND m.at >= p.at - ${windowSec} * interval '1 second' AND m.at < p.at
        ORDER BY m.at LIMIT 1) b`.execute(db);
  const out: Array<Record<string, number> | undefined> = points.map(() => undefined);
  for (const r of rows.rows) out[r.i] = r.series;
  return out;
}
