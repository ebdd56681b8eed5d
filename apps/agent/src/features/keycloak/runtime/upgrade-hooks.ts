import type { Logger } from '@keyfleet/log';
import type { KeycloakInstanceRecord } from '../instance/instance-store.js';
import type { KeycloakConfig } from '../keycloak-types.js';

/** What an upgrade hook gets: the task's signal, log and a way to add to the update timeline. */
export interface UpgradeHookContext {
  signal: AbortSignal;
  log: Logger;
  note(step: string, detail?: string): void;
}

/**
 * What a Keycloak version upgrade lets another feature do around it (the backups feature: the
 * pre-update backup unit, and the copy of the database a rollback puts back, since a new version
 * migrates the schema and the old one cannot run on it). `record` is always the old instance.
 */
export interface UpgradeHooks {
  /** Before anything changes, while the old Keycloak serves. Throwing stops the upgrade untouched. */
  beforeUpgrade(record: KeycloakInstanceRecord, config: KeycloakConfig, ctx: UpgradeHookContext): Promise<{ backupId?: string; detail: string }>;
  /** Recreate only: the old Keycloak has stopped and the new one has not started. Throwing rolls back. */
  databaseQuiet(record: KeycloakInstanceRecord, ctx: UpgradeHookContext): Promise<void>;
  /** Rollback, before the old Keycloak starts again: puts back what `databaseQuiet` kept; says what it did, or undefined when it kept nothing. */
  restoreDatabase(record: KeycloakInstanceRecord, ctx: UpgradeHookContext): Promise<string | undefined>;
  /** The upgrade ended, either way (also when the rollback failed). */
  finish(ctx: UpgradeHookContext): Promise<void>;
}
