// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { NatsAuthority } from '@keyfleet/nats-auth';
import type { Kysely } from 'kysely';
import { bootstrapAdminToken } from '../auth/bootstrap-admin-token.js';
import { generateSecretToken } from '../auth/secret-token.js';
import { HubMetrics } from '../metrics/hub-metrics.js';
import { SecretBox } from '../secrets/secret-box.js';
import { SecretStore } from '../secrets/secret-store.js';
import { createDb, type DbHandle } from '../store/create-db.js';
import type { Database, HostStatus, Role } from '../store/database.js';
import { migrateUp } from '../store/migrator.js';
import { newId } from '../store/new-id.js';
import { createTestDb } from './create-test-db.js';
import type { TaskDispatcher } from '../api/api-deps.js';
import { createApp } from '../api/create-app.js';
import { hubFeatures } from '../features/index.js';

/** Records what the API asked of the dispatcher; the real one needs NATS and agents. */
export class RecordingDispatcher implements TaskDispatcher {
  kicks = 0;
  cancels: { taskIds: string[]; reason: string }[] = [];
  kick(): void {
    this.kicks++;
  }
  async cancel(taskIds: string[], reason: string): Promise<void> {
    this.cancels.push({ taskIds, reason });
  }
}

/** Counts the pushes the API asked for; `enforced` is what they report (the real one needs NATS). */
export class RecordingRevoker {
  publishes = 0;
  enforced = true;
  async publish(): Promise<boolean> {
    this.publishes++;
    return this.enforced;
  }
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined when the body is not JSON); `any` keeps assertions short. */
  json: any;
}

export interface TestContext {
  app: ReturnType<typeof createApp>;
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
  /** A request read to its end; `body` is serialized unless it is already a string. */
  call(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

/**
 * The API on a real, migrated database — embedded PGlite in a temp dir, or the
 * Postgres at `databaseUrl` — with a real NATS authority and a recording
 * dispatcher. One per test file: even restored from a snapshot, PGlite takes seconds.
 */
export async function createTestContext(opts: { databaseUrl?: string } = {}): Promise<TestContext> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-hub-api-'));
  let handle: DbHandle | undefined;
  try {
    handle = opts.databaseUrl ? await createDb({ databaseUrl: opts.databaseUrl }) : await createTestDb();
    await migrateUp(handle.db, hubFeatures);
    const db = handle.db;
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
        eventPollMs: 20,
      },
      hubFeatures,
    );
    const closeDb = handle.close;
    return {
      app,
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
      async call(method, path, opts = {}) {
        const headers: Record<string, string> = { ...opts.headers };
        if (opts.token) headers.authorization = `Bearer ${opts.token}`;
        let body: string | undefined;
        if (opts.body !== undefined) {
          headers['content-type'] ??= 'application/json';
          body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        }
        const res = await app.request(path, { method, headers, body });
        const text = await res.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        return { status: res.status, headers: res.headers, text, json };
      },
      async close() {
        await closeDb();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
