import type { Logger } from '@keyfleet/log';
import type { KeycloakInstanceRecord } from '../instance/instance-store.js';
import type { KeycloakConfig, VerifyReport } from '../keycloak-types.js';
import type { CompatVerdict } from './compat-verdict.js';

export interface RuntimeContext {
  signal: AbortSignal;
  log: Logger;
  /** Records a step for the task result: install steps, the update timeline. */
  note(step: string, detail?: string): void;
  /** Update: what `kc.sh update-compatibility` said, for the task result. */
  compatibility?(verdict: CompatVerdict): void;
  /**
   * Update, recreate only: the old instance has stopped, so its database is quiet; runs before
   * the new one starts (and migrates it). Throwing rolls the update back.
   */
  oldStopped?(): Promise<void>;
  /** Update rollback: the new instance has stopped; runs before the old one starts again (puts its database back). */
  beforeOldRestarts?(): Promise<void>;
}

/** Where a candidate instance answers before it takes over (the docker runtime verifies its new container there). */
export interface VerifyEndpoints {
  baseUrl: string;
  managementUrl: string;
}

export interface RuntimeStatus {
  running: boolean;
  startedAt?: Date;
}

/** One way of running Keycloak on a host (docker or process); the tasks drive every runtime through this. */
export interface KeycloakRuntime {
  /** Prepares what `config` needs, replaces whatever runs, starts it and waits until ready. Returns the record to save. */
  install(config: KeycloakConfig, previous: KeycloakInstanceRecord | undefined, ctx: RuntimeContext): Promise<KeycloakInstanceRecord>;
  /** Starts the installed instance and waits until it is ready. */
  start(record: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<void>;
  /** True when it was running. */
  stop(record: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<boolean>;
  status(record: KeycloakInstanceRecord): Promise<RuntimeStatus>;
  logs(record: KeycloakInstanceRecord, lines: number): Promise<string>;
  /** Lines from a second on, each prefixed with an RFC 3339 timestamp: a runtime whose Keycloak logs to no file the agent can tail (docker). */
  logsSince?(record: KeycloakInstanceRecord, sinceSec: number): Promise<string>;
  /**
   * Moves the instance to `config`, verifying the new one with `verify` before it serves;
   * on failure restores the old one and throws UpdateRolledBack. Returns the new record.
   */
  update(
    record: KeycloakInstanceRecord,
    config: KeycloakConfig,
    ctx: RuntimeContext,
    verify: (at: VerifyEndpoints) => Promise<VerifyReport>,
  ): Promise<KeycloakInstanceRecord>;
  /** Stops and deletes the instance and everything the runtime created for it (containers, volumes, dists). */
  remove(record: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<void>;
}
