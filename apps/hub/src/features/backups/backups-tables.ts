import type { BackupManifest } from '@keyfleet/proto/v1';
import type { ColumnType, Generated, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import type { RetentionPolicy } from './retention-policy.js';

/** The backups feature's own tables (migrations in ./migrations). */
export type BackupsTables = {
  backup_keys: BackupKeysTable;
  backups: BackupsTable;
  backup_downloads: BackupDownloadsTable;
  backup_schedules: BackupSchedulesTable;
  backup_schedule_fires: BackupScheduleFiresTable;
  backup_schedule_units: BackupScheduleUnitsTable;
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

export type ScheduleKind = 'backup' | 'drill' | 'task';

/** What a task schedule runs on each matched host: a declared task type and its params (validated by its input schema). */
export interface ScheduleTask {
  type: string;
  params: Record<string, unknown>;
}

/** Where and how a drill schedule proves backups restore (as `POST /v1/backups/{id}/drill` takes it). */
export interface ScheduleDrill {
  hostId: string;
  identitySecret: string;
  scratchUrl: string;
  scratchPasswordSecret?: string;
}

export interface BackupSchedulesTable {
  id: string;
  name: string;
  kind: ScheduleKind;
  cron: string;
  timezone: string;
  /** A label selector (`k=v,k2=v2`); null targets every host. */
  selector: string | null;
  window_seconds: number;
  max_concurrent: number;
  retention: JSONColumnType<RetentionPolicy | null, string | null | undefined, string | null>;
  drill: JSONColumnType<ScheduleDrill | null, string | null | undefined, string | null>;
  task: JSONColumnType<ScheduleTask | null, string | null | undefined, string | null>;
  paused: Generated<boolean>;
  /** A backup schedule of the hub's own database (one unit per run, host `hub`) instead of hosts. */
  hub: Generated<boolean>;
  created_at: Timestamp;
  created_by: string;
  /**
   * Cron times up to here are dealt with (fired, or passed while paused): the next firing is the
   * newest cron time after it, so a hub that was down fires a missed run once, not once per time.
   */
  fired_through: NullableTimestamp;
}

export interface FireOutcome {
  succeeded: number;
  failed: number;
  missed: number;
  skipped: number;
}

export interface BackupScheduleFiresTable {
  schedule_id: string;
  fire_time: Timestamp;
  fired_at: Timestamp;
  units: number;
  settled_at: NullableTimestamp;
  outcome: JSONColumnType<FireOutcome | null, string | null | undefined, string | null>;
}

export type UnitState = 'pending' | 'claimed' | 'started' | 'succeeded' | 'failed' | 'missed' | 'skipped';

export interface BackupScheduleUnitsTable {
  schedule_id: string;
  fire_time: Timestamp;
  host_id: string;
  start_at: Timestamp;
  window_end: Timestamp;
  state: UnitState;
  claimed_at: NullableTimestamp;
  task_id: string | null;
  backup_id: string | null;
  error: string | null;
  finished_at: NullableTimestamp;
}

/** The hub's database seen with the backups tables. */
export function backupsDb(db: Kysely<Database>): Kysely<Database & BackupsTables> {
  return db.withTables<BackupsTables>();
}
