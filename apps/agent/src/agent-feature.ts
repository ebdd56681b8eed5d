import type { Command } from 'commander';
import type { Logger } from '@keyfleet/log';
import type { TaskName } from '@keyfleet/proto/v1';
import type { TaskHandler } from './task-handler.js';

/** What a background service of a feature gets from the agent. */
export interface ServiceContext {
  /** The agent's state directory (0700). */
  stateDir: string;
  log: Logger;
  /** Aborted when the agent stops. */
  signal: AbortSignal;
  /** Tasks running right now: a service that touches what tasks touch waits for none. */
  runningTasks(): number;
  /** This host's id, as the hub knows it. */
  hostId: string;
  /**
   * Fire-and-forget publish on one of this host's own `kf.v1.hub.<hostId>.…` subjects (NATS
   * refuses any other); dropped while the agent is not connected.
   */
  publishToHub(subject: string, data: Uint8Array): void;
  /**
   * A request on one of this host's own hub subjects, for what must not be lost (the service keeps
   * its place until the hub's reply says it stored the data); rejects while not connected or when
   * no hub answers in time.
   */
  requestHub(subject: string, data: Uint8Array): Promise<Uint8Array>;
  /** Whether the agent is connected and welcomed right now. */
  connected(): boolean;
}

/**
 * Work a feature does beside its tasks for as long as the agent runs (a watchdog, a sweeper).
 * `start` is awaited before the agent connects to NATS, so what a host needs without the hub
 * (e.g. Keycloak's front after a reboot) comes first; it resolves with how to stop the service.
 * A service whose start throws is logged and left out; the agent still runs.
 */
export interface FeatureService {
  readonly name: string;
  start(ctx: ServiceContext): Promise<{ stop(): Promise<void> }>;
}

/**
 * A capability of the agent (Keycloak, backups, TLS, …) as the core sees it: the task types it
 * handles, the services it runs and the subcommands it adds to `keyfleet-agent`. The core never
 * imports a feature; `features/index.ts` composes them and `main.ts` hands them to the agent.
 */
export interface AgentFeature<K extends TaskName = TaskName> {
  readonly name: string;
  readonly handlers: { readonly [P in K]: TaskHandler<P> };
  readonly services?: readonly FeatureService[];
  /** Adds the feature's own subcommands (e.g. the hidden `front` of the Keycloak feature). */
  readonly commands?: (program: Command) => void;
}

/** Declares a feature; its task names are taken from the keys of `handlers`. */
export function defineFeature<K extends TaskName>(feature: AgentFeature<K>): AgentFeature<K> {
  return feature;
}
