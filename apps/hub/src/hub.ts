import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createLogger, type Logger } from '@keyfleet/log';
import type { NatsAuthority } from '@keyfleet/nats-auth';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { ApiDeps } from './api/api-deps.js';
import { createApp } from './api/create-app.js';
import { hubFeatures } from './features/index.js';
import { bootstrapAdminToken } from './auth/bootstrap-admin-token.js';
import { CredentialRevoker } from './auth/credential-revoker.js';
import { createDispatcher, type Dispatcher, type DispatcherDeps } from './dispatch/dispatcher.js';
import { HubMetrics } from './metrics/hub-metrics.js';
import { loadSecretKey } from './secrets/load-secret-key.js';
import { SecretBox } from './secrets/secret-box.js';
import { SecretStore } from './secrets/secret-store.js';
import { createDb, type DbHandle } from './store/create-db.js';
import { migrateUp } from './store/migrator.js';

/** How long open HTTP requests may take to finish on close before their sockets are cut. */
const CLOSE_GRACE_MS = 5000;

export interface HubOptions {
  /** HTTP port; 0 picks a free one (the real URL is returned). Default 0. */
  port?: number;
  /** HTTP bind address. Default 127.0.0.1. */
  host?: string;
  /** Postgres connection string; without it the embedded PGlite in `dataDir` is used. */
  databaseUrl?: string;
  dataDir?: string;
  /**
   * The 32-byte key that seals stored secrets. Default: read from
   * `<dataDir or .keyfleet>/secret.key`, generated there on first start.
   * Every hub sharing a database needs the same key.
   */
  secretKey?: Buffer;
  /** NATS server URL(s) the hub connects to. */
  natsUrls: string[];
  /**
   * Mints agent JWTs at enrollment (and the hub's own NATS creds when none are given), and
   * revokes them (it must be able to: `canRevoke`).
   */
  authority: NatsAuthority;
  /** Contents of a NATS .creds file for the hub's own connection. Default: minted from `authority`. */
  natsCreds?: string;
  /** CA certificate file to verify NATS TLS with. */
  natsCaFile?: string;
  /** NATS URLs handed to agents at enrollment. Default: `natsUrls`. */
  natsPublicUrls?: string[];
  dispatcher?: Pick<
    DispatcherDeps,
    'offlineAfterMissedHeartbeats' | 'dispatchIntervalMs' | 'resultGraceMs' | 'sweepIntervalMs' | 'requestTimeoutMs' | 'agentDataRate'
  >;
  log?: Logger;
}

export interface Hub {
  url: string;
  /** Only when this start created the `initial-admin` token; shown once, never logged. */
  adminToken?: string;
  close(): Promise<void>;
}

/**
 * Opens the database (migrating it), makes the first admin token on an empty one,
 * connects to NATS, starts the dispatcher and serves the HTTP API. Anything opened
 * before a failure is closed again before the error is thrown.
 */
export async function startHub(opts: HubOptions): Promise<Hub> {
  const log = opts.log ?? createLogger('hub');
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => log.error({ err }, 'error during hub shutdown'));
    }
    cleanups.length = 0;
  };

  try {
    const handle: DbHandle = await createDb({ databaseUrl: opts.databaseUrl, dataDir: opts.dataDir, log });
    cleanups.push(() => handle.close());
    const { db } = handle;
    const migrated = await migrateUp(db, hubFeatures);
    if (migrated.length > 0) log.info({ migrations: migrated.map((m) => m.migrationName) }, 'database migrated');
    const adminToken = await bootstrapAdminToken(db);
    const secrets = new SecretStore(db, new SecretBox(await secretKey(opts, log)));
    const foreign = await secrets.countForeign();
    if (foreign > 0) {
      log.error(
        { secrets: foreign, keyId: secrets.keyId },
        'stored secrets were sealed under another hub secret key; tasks referring to them will fail until KEYFLEET_SECRET_KEY is the key they were stored with',
      );
    }

    const nc = await connectNats(opts, log);
    cleanups.push(async () => {
      if (!nc.isClosed()) await nc.drain();
    });
    let natsUp = true;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          natsUp = false;
          log.warn('NATS disconnected; reconnecting');
        } else if (s.type === 'reconnect') {
          natsUp = true;
          log.info('NATS reconnected');
        }
      }
    })();

    // Decommissioned and revoked agents stay refused by NATS: pushed again on every (re)connect.
    const revoker = await CredentialRevoker.start({ db, authority: opts.authority, servers: opts.natsUrls, caFile: opts.natsCaFile, log });
    cleanups.push(() => revoker.close());

    const metrics = new HubMetrics(db);
    const projections = hubFeatures.flatMap((f) => (f.projections ? [f.projections] : []));
    const dispatcher: Dispatcher = createDispatcher({ db, nc, log, metrics, secrets, projections, ...opts.dispatcher });
    await dispatcher.start();
    cleanups.push(() => dispatcher.stop());

    const shutdown = new AbortController();
    const apiDeps: ApiDeps = {
      db,
      dispatcher,
      revoker,
      authority: opts.authority,
      natsServers: opts.natsPublicUrls ?? opts.natsUrls,
      metrics,
      secrets,
      natsConnected: () => natsUp && !nc.isClosed(),
      log,
      dbSource: handle.source,
      shutdown: shutdown.signal,
    };
    const app = createApp(apiDeps, hubFeatures);
    for (const service of hubFeatures.flatMap((f) => f.services ?? [])) {
      const running = await service.start({ ...apiDeps, nats: nc });
      cleanups.push(() => running.stop());
    }
    const host = opts.host ?? '127.0.0.1';
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, () => resolve(s));
      s.once('error', reject);
    });
    cleanups.push(async () => {
      // Event streams end on the abort; idle keep-alive sockets would hold close() open.
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Requests finishing after close() leave keep-alive sockets behind; sweep them
      // until the server is closed, and cut whatever is still open after the grace.
      const deadline = Date.now() + CLOSE_GRACE_MS;
      const sweep = setInterval(() => {
        if (Date.now() > deadline && 'closeAllConnections' in server) server.closeAllConnections();
        else if ('closeIdleConnections' in server) server.closeIdleConnections();
      }, 50);
      await closed;
      clearInterval(sweep);
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    log.info({ url, database: handle.kind }, 'hub listening');

    return {
      url,
      ...(adminToken ? { adminToken } : {}),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function connectNats(opts: HubOptions, log: Logger): Promise<NatsConnection> {
  const creds = opts.natsCreds ?? (await opts.authority.hubCreds('keyfleet-hub'));
  try {
    const nc = await connect({
      servers: opts.natsUrls,
      name: 'keyfleet-hub',
      authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
      maxReconnectAttempts: -1,
      ...(opts.natsCaFile ? { tls: { caFile: opts.natsCaFile } } : {}),
    });
    log.info({ server: nc.getServer() }, 'connected to NATS');
    return nc;
  } catch (err) {
    throw new Error(`cannot connect to NATS at ${opts.natsUrls.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
}

async function secretKey(opts: HubOptions, log: Logger): Promise<Buffer> {
  if (opts.secretKey) {
    log.info('hub secret key from KEYFLEET_SECRET_KEY');
    return opts.secretKey;
  }
  const path = join(opts.dataDir ?? '.keyfleet', 'secret.key');
  const { key, created } = await loadSecretKey(path);
  if (created) {
    log.warn(
      { path },
      'generated the hub secret key (it seals stored secrets): back this file up, and give every other hub on this database the same key via KEYFLEET_SECRET_KEY',
    );
  } else {
    log.info({ path }, 'hub secret key loaded from file');
  }
  return key;
}
