import type { Logger } from '@keyfleet/log';
import type { z } from 'zod';
import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { CommandRunner } from './command-runner.js';
import type { KeycloakAccess } from './keycloak-admin-api.js';

type Params = z.output<(typeof taskDefinitions)['hardening.audit']['input']>['params'];

/** The profile's parameters with the host's defaults filled in (see resolve-params.ts). */
export interface ResolvedParams extends Omit<Params, 'runtime' | 'fileOwner'> {
  runtime: 'docker' | 'process' | undefined;
  /** User name and uid that own Keycloak's files and the agent's state. */
  fileOwner: { name: string; uid: number };
  /** Host paths (without the root prefix) the files rules look after. */
  paths: {
    agentStateDir: string;
    /** The installed Keycloak's conf dir (process runtime); undefined when none is installed. */
    keycloakConfDir: string | undefined;
    keycloakTlsDir: string;
    keycloakInstanceFile: string;
  };
  /** Where NATS is reached: the firewall lets the agent out to these and the dead-man switch probes them. */
  natsEndpoints: Array<{ host: string; port: number }>;
  /** The installed Keycloak's admin API, for the posture rules; undefined when the agent installed none. */
  keycloak: KeycloakAccess | undefined;
}

/** What a rule works with: the host under a root prefix, a command runner and the parameters. */
export interface RuleEnv {
  /** Prefix of every host file the rule reads or writes (`/` on a real host, a temp dir in tests). */
  root: string;
  run: CommandRunner;
  params: ResolvedParams;
  log: Logger;
  signal: AbortSignal;
  /** Whether the agent reaches NATS right now through a fresh connection (the dead-man switch's signal). */
  reachesHub(): Promise<boolean>;
  /** The sshd binary (rules validate with `sshd -t` and read the effective config with `sshd -T`). */
  sshd: string;
}

export interface RuleChange {
  target: string;
  before: string;
  after: string;
}

/** A rule's verdict: `changes` is exactly what `apply` would do, shown by the plan before anything changes. */
export interface RuleCheck {
  status: 'pass' | 'fail' | 'not-applicable';
  current: string;
  wanted: string;
  reason?: string;
  changes: RuleChange[];
}

/**
 * One hardening rule, as data plus its three actions. `apply` only runs after a `fail` check and
 * returns the before-state (JSON) that `rollback` puts back; it throws `RuleRefused` when a guard
 * says no (SSH lock-out) or the dead-man switch reverted it, leaving the host as it was.
 */
export interface HardeningRule<Before = unknown> {
  readonly id: string;
  readonly title: string;
  readonly why: string;
  /** The Keycloak runtimes it concerns (all when absent); every rule concerns Linux only. */
  readonly runtimes?: ReadonlyArray<'docker' | 'process'>;
  check(env: RuleEnv): Promise<RuleCheck>;
  apply(env: RuleEnv, check: RuleCheck): Promise<Before>;
  rollback(env: RuleEnv, before: Before): Promise<void>;
}

/** Declares a rule with its before-state type checked between apply and rollback. */
export function defineRule<Before>(rule: HardeningRule<Before>): HardeningRule {
  return rule as HardeningRule;
}
