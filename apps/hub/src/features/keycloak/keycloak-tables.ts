import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';

/** The Keycloak feature's own tables (migrations in ./migrations). */
export type KeycloakTables = {
  keycloak_hosts: KeycloakHostsTable;
  realm_specs: RealmSpecsTable;
};

export type KeycloakHostsTable = {
  host_id: string;
  /** What the last Keycloak task said about the host's Keycloak; null until one reported. */
  instance: JSONColumnType<HostKeycloak | null, string | null | undefined, string>;
  /** The last `keycloak.verify` outcome (also from install/update); null until one ran. */
  last_verification: JSONColumnType<HostVerification | null, string | null | undefined, string>;
};

export type HostKeycloak =
  | {
      installed: true;
      version: string;
      runtime: 'docker' | 'process';
      ready: boolean;
      baseUrl: string;
      realms: string[];
      uptimeSec?: number;
      /** When the reporting task finished; older reports never overwrite newer ones. */
      updatedAt: string;
      taskId: string;
    }
  | { installed: false; updatedAt: string; taskId: string };

export interface HostVerification {
  ok: boolean;
  checkedAt: string;
  checks: Array<{ name: string; ok: boolean; detail: string; ms: number }>;
  /** Set when the verifying task failed: the agent's error message. */
  error?: string;
  taskId: string;
}

export type RealmSpecsTable = {
  id: string;
  host_id: string;
  realm: string;
  /** 1, 2, … per (host, realm), in the order applies succeeded. */
  version: number;
  /** The applied spec with secret references only, never their values. */
  spec: JSONColumnType<Record<string, unknown>>;
  /** The changes the apply reported (secrets masked by the agent). */
  changes: JSONColumnType<unknown[]>;
  task_id: string | null;
  applied_at: ColumnType<Date, Date | string, Date | string>;
  applied_by: string;
};

/** The hub's database seen with the Keycloak tables. */
export function keycloakDb(db: Kysely<Database>): Kysely<Database & KeycloakTables> {
  return db.withTables<KeycloakTables>();
}
