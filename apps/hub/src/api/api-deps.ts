import type { Logger } from '@keyfleet/log';
import type { NatsAuthority } from '@keyfleet/nats-auth';
import type { Kysely } from 'kysely';
import type { CredentialRevoker } from '../auth/credential-revoker.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { DbSource } from '../store/create-db.js';
import type { Database } from '../store/database.js';

/** What the API needs from the dispatcher: a nudge after queueing, and cancellation of live tasks. */
export interface TaskDispatcher {
  kick(): void;
  cancel(taskIds: string[], reason: string): Promise<void>;
}

export interface ApiDeps {
  db: Kysely<Database>;
  dispatcher: TaskDispatcher;
  /** Makes NATS enforce the agent revocations recorded in the database (decommission, revoke). */
  revoker: Pick<CredentialRevoker, 'publish'>;
  /** Mints each enrolled agent's NATS user JWT. */
  authority: Pick<NatsAuthority, 'agentJwt'>;
  /** NATS URLs handed to agents at enrollment. */
  natsServers: string[];
  metrics: HubMetrics;
  /** Named secrets that task params reference as `{ $secret: name }`. */
  secrets: SecretStore;
  /** Whether the hub's NATS connection is up right now (for /readyz). */
  natsConnected(): boolean;
  log: Logger;
  /** The hub's own database as its backups read it (absent: the hub cannot back itself up). */
  dbSource?: DbSource;
  /** Aborted when the hub shuts down, so long-lived event streams end. */
  shutdown?: AbortSignal;
  /** How often event streams poll the database; tests shorten it. */
  eventPollMs?: number;
  /** Event streams one hub serves at once (default 200); more are refused with 503. */
  maxEventStreams?: number;
  /** How long one event stream stays open without ending (default 1 h); clients resume. */
  maxEventStreamMs?: number;
}
