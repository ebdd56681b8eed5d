import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import type { HostKeycloak, HostVerification } from './host-keycloak-schemas.js';

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
