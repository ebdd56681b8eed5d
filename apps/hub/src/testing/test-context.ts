// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { NatsAuthority } from '@keyfleet/nats-auth';
import type { Kysely } from 'kysely';
import { createApp, type AppType } from '../api/create-app.js';
import { bootstrapAdminToken } from '../auth/bootstrap-admin-token.js';
import { generateSecretToken } from '../auth/secret-token.js';
import { hubFeatures } from '../features/index.js';
import { HubMetrics } from '../metrics/hub-metrics.js';
import { SecretBox } from '../secrets/secret-box.js';
import { SecretStore } from '../secrets/secret-store.js';
import type { Database, HostStatus, Role } from '../store/database.js';
import { newId } from '../store/new-id.js';
import { hubTestClient, type HubTestClient, type RawRequest, type RawResponse, type TypedClient } from './hub-test-client.js';
import { RecordingDispatcher } from './recording-dispatcher.js';
import { RecordingRevoker } from './recording-revoker.js';
import { startTestDatabase, type TestBackend, type TestDatabase } from './test-database.js';

export interface TestContext {
  backend: TestBackend;
  app: AppType;
  /** The database under the app (`database.db` is `db`). */
  database: TestDatabase;
  db: Kysely<Database>;
  dispatcher: RecordingDispatcher;
  revoker: RecordingRevoker;
  authority: NatsAuthority;
  adminToken: string;
  natsUp: { value: boolean };
  /** The hub's secret store, on a random key. */
  secrets: SecretStore;
  /** A fresh token with the role (created straight in the database). */
  tokenFor(role: Role): Promise<string>;
  /** Inserts a host row as if it had enrolled (and, with taskTypes, said hello). */
  addHost(h: { hostname: string; labels?: Record<string, string>; taskTypes?: string[]; status?: HostStatus }): Promise<string>;
  /** The typed client of this app, without a token (`client.as(token)` for one). */
  client: HubTestClient;
  /** The typed core API as the holder of `token` (none without). */
  api(token?: string): TypedClient<AppType>;
  /** A request the typed client cannot make on purpose (see `HubTestClient.raw`), as the holder of `token`. */
  raw(method: string, path: string, req?: RawRequest & { token?: string }): Promise<RawResponse>;
  close(): Promise<void>;
}

/**
 * The API in process on a real, migrated database (`startTestDatabase`: embedded PGlite, or a
 * real Postgres) with a real NATS authority and a recording dispatcher. One per test file and
 * backend: the database takes seconds to start.
 */
export async function createTestContext(backend: TestBackend): Promise<TestContext> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-hub-api-'));
  let database: TestDatabase | undefined;
  try {
    database = await startTestDatabase(backend);
    const db = database.db;
    const adminToken = await bootstrapAdminToken(db);
    if (!adminToken) throw new Error('a fresh database must yield an initial admin token');
    const authority = await NatsAuthority.load((await NatsAuthority.create(join(dir, 'nats'))).dir);
    const dispatcher = new RecordingDispatcher();
    const revoker = new RecordingRevoker();
    const natsUp = { value: true };
    const secrets = new SecretStore(db, new SecretBox(randomBytes(32)));
    const app = createApp(
      {
        db,
        dispatcher,
        revoker,
        authority,
        natsServers: ['nats://127.0.0.1:4222'],
        metrics: new HubMetrics(db),
        secrets,
        natsConnected: () => natsUp.value,
        log: createLogger('hub-test', { level: 'silent' }),
        dbSource: database.source,
        eventPollMs: 20,
      },
      hubFeatures,
    );
    const client = hubTestClient({ url: 'http://hub.test', fetch: (input, init) => app.request(input, init) });
    const closeDb = database.close;
    return {
      backend,
      app,
      database,
      db,
      dispatcher,
      revoker,
      authority,
      adminToken,
      natsUp,
      secrets,
      async tokenFor(role) {
        const { token, hash } = generateSecretToken('kf_');
        await db
          .insertInto('api_tokens')
          .values({ id: newId('tok'), name: `test-${role}`, role, token_hash: hash, created_by: 'test' })
          .execute();
        return token;
      },
      async addHost(h) {
        const id = newId('h');
        await db
          .insertInto('hosts')
          .values({
            id,
            hostname: h.hostname,
            labels: JSON.stringify(h.labels ?? {}),
            nkey_public: `U${id}`,
            status: h.status ?? 'online',
            agent_version: '0.1.0',
            proto_version: 'v1',
            task_types: JSON.stringify(h.taskTypes ?? []),
            heartbeat_interval_ms: 15_000,
            max_concurrency: 4,
            last_heartbeat: JSON.stringify({ uptimeSec: 5 }),
          })
          .execute();
        return id;
      },
      client,
      api: (token) => client.as(token).api,
      raw: (method, path, { token, ...req } = {}) => client.as(token).raw(method, path, req),
      async close() {
        await closeDb();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
