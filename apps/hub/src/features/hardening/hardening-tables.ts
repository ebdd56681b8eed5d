import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import type { HardeningReport, RuleStatusChange } from './hardening-schemas.js';

/** The maintenance task types whose last report the hub keeps per host. */
export type MaintenanceTask = 'maintenance.updates' | 'maintenance.scan' | 'maintenance.keycloak-version' | 'maintenance.logs';

export type HardeningTables = {
  maintenance_reports: {
    host_id: string;
    task_type: MaintenanceTask;
    report: JSONColumnType<object>;
    task_id: string;
    checked_at: ColumnType<Date, Date | string, Date | string>;
  };
  hardening_hosts: {
    host_id: string;
    report: JSONColumnType<HardeningReport>;
    task_id: string;
    checked_at: ColumnType<Date, Date | string, Date | string>;
  };
  hardening_events: {
    id: string;
    host_id: string;
    at: ColumnType<Date, Date | string, Date | string>;
    /** The task type whose report changed statuses: `hardening.audit` means drift, the others an operator's change. */
    cause: string;
    task_id: string;
    changes: JSONColumnType<RuleStatusChange[]>;
  };
};

/** The hub's database seen with the hardening tables. */
export function hardeningDb(db: Kysely<Database>): Kysely<Database & HardeningTables> {
  return db.withTables<HardeningTables>();
}
