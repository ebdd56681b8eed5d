import { sql } from 'kysely';
import type { AlertsDb } from './alerts-tables.js';

/** The oldest stored raw sample within `windowSec` before `at`: the start of a rate. */
export async function sampleBefore(db: AlertsDb, hostId: string, at: Date, windowSec: number): Promise<Record<string, number> | undefined> {
  const row = await sql<{ series: Record<string, number> }>`
    SELECT series FROM host_metrics
     WHERE host_id = ${hostId} AND step_sec = 0 AND at >= ${new Date(at.getTime() - windowSec * 1000)} AND at < ${at}
     ORDER BY at LIMIT 1`.execute(db);
  return row.rows[0]?.series;
}
