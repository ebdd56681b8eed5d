import type { ColumnType, Generated, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import { type BackupRecipient, backupsDb, type BackupsTables } from './backups-tables.js';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** int8 comes back from pg as a string. */
type Int8 = ColumnType<string | null, number | null | undefined, number | null>;

/**
 * A drill's realm export (`kc.sh export` of the scratch copy), age-encrypted and kept with its
 * backup: running (its single-use upload open) → stored | failed; pruned with its backup. The
 * upload columns mean what the backups table's do.
 */
export interface BackupExportsTable {
  id: string;
  backup_id: string;
  task_id: string | null;
  state: 'running' | 'stored' | 'failed' | 'pruned';
  error: string | null;
  created_at: Timestamp;
  finished_at: NullableTimestamp;
  recipients: JSONColumnType<BackupRecipient[]>;
  storage_kind: 'local' | 's3';
  storage_key: string;
  upload_token_hash: string | null;
  upload_expires_at: NullableTimestamp;
  upload_state: Generated<'open' | 'writing' | 'received' | 'complete' | 'abandoned' | 'closed'>;
  upload_id: string | null;
  received_size: Int8;
  received_sha256: string | null;
  size_bytes: Int8;
  sha256: string | null;
  /** The realms in the export, as `kc.sh export` wrote them. */
  realms: JSONColumnType<string[] | null, string | null | undefined, string | null>;
}

export type ExportTables = BackupsTables & { backup_exports: BackupExportsTable };

/** The hub's database seen with the backups tables and the realm exports. */
export function exportsDb(db: Kysely<Database>): Kysely<Database & ExportTables> {
  return backupsDb(db).withTables<{ backup_exports: BackupExportsTable }>();
}
