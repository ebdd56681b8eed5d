import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';

export interface HostLogsTable {
  host_id: string;
  stream: string;
  pos: ColumnType<string, number | string, number | string>;
  source: 'keycloak' | 'agent';
  at: ColumnType<Date, Date | string, Date | string>;
  level: number;
  line: string;
}

export type LogsTables = { host_logs: HostLogsTable };

/** The hub's database seen with the logs feature's tables. */
export function logsDb(db: Kysely<Database>): Kysely<Database & LogsTables> {
  return db.withTables<LogsTables>();
}
