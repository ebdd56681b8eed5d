import type { BackupManifest } from '@keyfleet/proto/v1';
import type { ColumnType, Generated, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';

/** The backups feature's own tables (migrations in ./migrations). */
export type BackupsTables = {
  backup_keys: BackupKeysTable;
  backups: BackupsTable;
  backup_downloads: BackupDownloadsTable;
};

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** int8 comes back from pg as a string. */
type Int8 = ColumnType<string | null, number | null | undefined, number | null>;

export type BackupState = 'running' | 'stored' | 'verified' | 'failed' | 'pruned';

export interface BackupKeysTable {
  id: string;
  name: string;
  recipient: string;
  created_at: Timestamp;
  created_by: string;
  retired_at: NullableTimestamp;
}

export interface BackupRecipient {
  keyId: string;
  name: string;
  recipient: string;
}

export interface DrillRecord {
  ok: boolean;
  taskId: string;
  hostId: string;
  at: string;
  restoreMs?: number;
  checks?: Array<{ name: string; ok: boolean; detail: string }>;
  error?: string;
}

export interface BackupsTable {
  id: string;
  host_id: string;
  task_id: string | null;
  schedule_id: string | null;
  state: BackupState;
  error: string | null;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  size_bytes: Int8;
  sha256: string | null;
  recipients: JSONColumnType<BackupRecipient[]>;
  keycloak_version: string | null;
  manifest: JSONColumnType<BackupManifest | null, string | null | undefined, string | null>;
  storage_kind: 'local' | 's3';
  storage_key: string;
  upload_token_hash: string | null;
  upload_expires_at: NullableTimestamp;
  /**
   * open → writing (stream) → received → complete; a failed backup's upload is `abandoned` until
   * the sweeper removed whatever storage holds of it, then `closed`.
   */
  upload_state: Generated<'open' | 'writing' | 'received' | 'complete' | 'abandoned' | 'closed'>;
  upload_id: string | null;
  received_size: Int8;
  received_sha256: string | null;
  last_drill: JSONColumnType<DrillRecord | null, string | null | undefined, string | null>;
  verified_at: NullableTimestamp;
}

export interface BackupDownloadsTable {
  token_hash: string;
  backup_id: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  kind: Generated<'ciphertext' | 'plaintext'>;
  /** plaintext: the hub secret holding the identity that opens the backup. */
  identity_secret: string | null;
}

/** The hub's database seen with the backups tables. */
export function backupsDb(db: Kysely<Database>): Kysely<Database & BackupsTables> {
  return db.withTables<BackupsTables>();
}
