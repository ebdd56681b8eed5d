import type { OpenAPIHono } from '@hono/zod-openapi';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Migration } from 'kysely';
import type { ApiDeps } from './api/api-deps.js';
import type { AppEnv } from './api/app-env.js';
import type { ResultProjections } from './dispatch/result-projection.js';

/**
 * What a capability (Keycloak, backups, certificates, …) plugs into the generic
 * hub. The core never imports a feature; `features/index.ts` lists them and the
 * hub wires each part where it belongs.
 */
export interface HubFeature {
  readonly name: string;
  /**
   * The feature's own tables. Names share one ordered sequence with the core's
   * (`0006-keycloak-hosts`), so a feature's tables may reference core ones.
   */
  readonly migrations?: Readonly<Record<string, Migration>>;
  /** Read models its task types' results update, in the transaction that stores each result. */
  readonly projections?: ResultProjections;
  /** Routes under /v1, built with the core's `createRouter` so errors share one shape. */
  readonly routes?: (deps: ApiDeps) => OpenAPIHono<AppEnv>;
  /** Work beside the API (sweepers, schedulers), started with the hub and stopped before it closes. */
  readonly services?: readonly HubService[];
}

/**
 * A feature's background work. Several hubs may share one database, so a service either is
 * idempotent on every hub or elects a leader itself (session-level advisory lock).
 */
export interface HubService {
  readonly name: string;
  start(deps: HubServiceDeps): Promise<{ stop(): Promise<void> }>;
}

/** What a service gets: the API's dependencies and the hub's NATS connection (for agent messages a feature handles itself). */
export interface HubServiceDeps extends ApiDeps {
  nats: NatsConnection;
}
