import type { TaskState } from '@keyfleet/proto/v1';
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/**
 * Fleet state. The hub is stateless apart from this database, so several hubs may
 * share it. Timestamps are `timestamptz`, read back as Date.
 */
export interface Database {
  api_tokens: ApiTokensTable;
  enrollment_tokens: EnrollmentTokensTable;
  hosts: HostsTable;
  task_batches: TaskBatchesTable;
  tasks: TasksTable;
  task_events: TaskEventsTable;
  audit_log: AuditLogTable;
  secrets: SecretsTable;
}

/** Any JSON value; Kysely needs an object type for JSON columns, so scalars are boxed by pg as-is. */
export type Json = { [k: string]: unknown } | unknown[] | null;

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type Role = 'admin' | 'operator' | 'viewer';

export interface ApiTokensTable {
  id: string;
  name: string;
  role: Role;
  /** sha256 of the token; tokens are 256-bit random, so a fast hash is enough. */
  token_hash: string;
  created_at: CreatedAt;
  created_by: string | null;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface EnrollmentTokensTable {
  id: string;
  token_hash: string;
  /** Labels every host enrolled with this token receives (merged under the agent's own). */
  labels: JSONColumnType<Record<string, string>>;
  created_at: CreatedAt;
  created_by: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  used_by_host: string | null;
  revoked_at: NullableTimestamp;
}

export type HostStatus = 'pending' | 'online' | 'offline';

export interface HostsTable {
  id: string;
  hostname: string;
  labels: JSONColumnType<Record<string, string>>;
  /** The agent's NATS user public key (its private key never leaves the host). */
  nkey_public: string;
  status: HostStatus;
  agent_version: string | null;
  proto_version: string | null;
  task_types: JSONColumnType<string[]>;
  heartbeat_interval_ms: number;
  max_concurrency: number;
  enrolled_at: CreatedAt;
  last_hello_at: NullableTimestamp;
  last_heartbeat_at: NullableTimestamp;
  /** The last heartbeat body (cpu, load, memory, disks, uptime). */
  last_heartbeat: JSONColumnType<Record<string, unknown> | null>;
}

export interface TaskBatchesTable {
  id: string;
  type: string;
  params: JSONColumnType<Json>;
  /** As the operator gave it: `{ kind: 'host', hostId } | { kind: 'labels', labels } | { kind: 'all' }`. */
  target: JSONColumnType<Record<string, unknown>>;
  created_by: string;
  created_at: CreatedAt;
}

export interface TasksTable {
  id: string;
  batch_id: string;
  host_id: string;
  type: string;
  params: JSONColumnType<Json>;
  state: TaskState;
  timeout_ms: number;
  created_at: CreatedAt;
  /** Still queued at this instant → expired. */
  expires_at: Timestamp;
  dispatched_at: NullableTimestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  /** Set when a cancel was requested, whatever the state then. */
  cancel_requested_at: NullableTimestamp;
  dispatch_attempts: Generated<number>;
  progress: JSONColumnType<{ percent?: number; message?: string } | null>;
  output: JSONColumnType<Json>;
  error: JSONColumnType<{ code: string; message: string } | null>;
}

export interface TaskEventsTable {
  id: Generated<number>;
  task_id: string;
  batch_id: string;
  at: CreatedAt;
  /** `state` (data: { state, error? }) or `progress` (data: { percent?, message? }). */
  kind: 'state' | 'progress';
  data: JSONColumnType<Record<string, unknown>>;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  /** Token name and id, or `enrollment:<token id>` for enrollments. */
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'denied' | 'error';
  detail: JSONColumnType<Record<string, unknown> | null>;
}

export interface SecretsTable {
  name: string;
  /** version byte, 12-byte nonce, AES-256-GCM ciphertext, 16-byte tag; the name is the AAD. */
  ciphertext: Buffer;
  /** Which hub secret key sealed it (a hash of the key, never the key). */
  key_id: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
  updated_by: string;
}
