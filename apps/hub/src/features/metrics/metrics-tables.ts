import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';

export interface HostMetricsTable {
  host_id: string;
  /** 0: a raw sample; otherwise the width of the downsampled bucket that starts at `at`. */
  step_sec: number;
  at: ColumnType<Date, Date | string, Date | string>;
  series: JSONColumnType<Record<string, number>>;
}

export type MetricsTables = { host_metrics: HostMetricsTable };

/** The hub's database seen with the metrics feature's tables. */
export function metricsDb(db: Kysely<Database>): Kysely<Database & MetricsTables> {
  return db.withTables<MetricsTables>();
}

/** Bucket width of the long history. */
export const DOWNSAMPLED_STEP_SEC = 300;
