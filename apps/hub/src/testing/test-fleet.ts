// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '@keyfleet/log';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import { sql, type Kysely, type Selectable } from 'kysely';
import { Histogram } from 'prom-client';
import { SecretBox } from '../secrets/secret-box.js';
import { SecretStore } from '../secrets/secret-store.js';
import type { TaskState } from '@keyfleet/proto/v1';
import type { Database, TasksTable } from '../store/database.js';
import { createDispatcher, type Dispatcher, type DispatcherDeps } from '../dispatch/dispatcher.js';
import { hubFeatures } from '../features/index.js';
import { connectFakeAgent, type FakeAgent } from './fake-agent.js';
import { startTestDatabase, type TestBackend, type TestDatabase } from './test-database.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface TestHub {
  dispatcher: Dispatcher;
  nc: NatsConnection;
  latency: Histogram;
  stop(): Promise<void>;
}

export interface TestFleet {
  nats: NatsServer;
  database: TestDatabase;
  db: Kysely<Database>;
  /** Every log line any hub of this fleet wrote, parsed. */
  logs: LogLine[];
  /** The secret store every hub of this fleet uses (one key, as hubs sharing a database must). */
  secrets: SecretStore;
  startHub(opts?: Partial<Omit<DispatcherDeps, 'nc' | 'log' | 'metrics'>>): Promise<TestHub>;
  agent(hostId: string): Promise<FakeAgent>;
  /** An enrolled host that has not said hello yet. */
  addHost(hostId?: string): Promise<string>;
  addTask(hostId: string, opts?: { type?: string; timeoutMs?: number; expiresInMs?: number; state?: TaskState; params?: unknown }): Promise<string>;
  task(taskId: string): Promise<Selectable<TasksTable>>;
  events(taskId: string): Promise<Array<{ kind: string; data: Record<string, unknown> }>>;
  stop(): Promise<void>;
}

// The schema types nullable JSON columns as string-only on insert; SQL NULL is what a new row has.
const SQL_NULL = sql<string>`null`;

/** A real NATS server, a real migrated database, and helpers to run hubs and fake agents on them. */
export async function startTestFleet(backend: TestBackend): Promise<TestFleet> {
  const [natsStart, databaseStart] = await Promise.allSettled([startNats(), startTestDatabase(backend)]);
  if (natsStart.status === 'rejected' || databaseStart.status === 'rejected') {
    if (natsStart.status === 'fulfilled') await natsStart.value.stop();
    if (databaseStart.status === 'fulfilled') await databaseStart.value.close();
    throw natsStart.status === 'rejected' ? natsStart.reason : (databaseStart as PromiseRejectedResult).reason;
  }
  const nats = natsStart.value;
  const database = databaseStart.value;
  const { db } = database;
  const logs: LogLine[] = [];
  const closers: Array<() => Promise<void>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  const log = createLogger('dispatch-test', { level: 'debug', destination });
  let batchId: string | undefined;
  const box = new SecretBox(randomBytes(32));
  const secrets = new SecretStore(db, box);

  const fleet: TestFleet = {
    nats,
    database,
    db,
    logs,
    secrets,
    async startHub(opts = {}) {
      const nc = await connect({ servers: nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(await nats.authority.hubCreds())) });
      const latency = new Histogram({ name: 'kf_dispatch_latency_seconds', help: 'test', registers: [] });
      // A second hub gets its own database connection, as a second process would.
      const hubDb = opts.db ?? db;
      const dispatcher = createDispatcher({
        projections: hubFeatures.flatMap((f) => (f.projections ? [f.projections] : [])),
        dispatchIntervalMs: 100,
        sweepIntervalMs: 50,
        secrets: new SecretStore(hubDb, box),
        ...opts,
        db: hubDb,
        nc,
        log,
        metrics: { dispatchLatency: latency },
      });
      await dispatcher.start();
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await dispatcher.stop();
        await nc.close();
      };
      closers.push(stop);
      return { dispatcher, nc, latency, stop };
    },
    async agent(hostId) {
      const a = await connectFakeAgent(nats, hostId);
      closers.push(() => a.close());
      return a;
    },
    async addHost(hostId = `h-${randomUUID().slice(0, 8)}`) {
      await db
        .insertInto('hosts')
        .values({
          id: hostId,
          hostname: `${hostId}.test`,
          nkey_public: `U${randomUUID()}`,
          labels: JSON.stringify({ env: 'test' }),
          status: 'pending',
          task_types: '[]',
          heartbeat_interval_ms: 15_000,
          max_concurrency: 4,
          last_heartbeat: SQL_NULL,
        })
        .execute();
      return hostId;
    },
    async addTask(hostId, opts = {}) {
      if (!batchId) {
        batchId = `b-${randomUUID()}`;
        await db
          .insertInto('task_batches')
          .values({ id: batchId, type: 'noop', params: '{}', target: JSON.stringify({ kind: 'all' }), created_by: 'test' })
          .execute();
      }
      const id = `t-${randomUUID()}`;
      await db
        .insertInto('tasks')
        .values({
          id,
          batch_id: batchId,
          host_id: hostId,
          type: opts.type ?? 'noop',
          params: JSON.stringify(opts.params ?? { sleepMs: 0 }),
          state: opts.state ?? 'queued',
          timeout_ms: opts.timeoutMs ?? 60_000,
          expires_at: new Date(Date.now() + (opts.expiresInMs ?? 600_000)),
          progress: SQL_NULL,
          output: SQL_NULL,
          error: SQL_NULL,
        })
        .execute();
      return id;
    },
    task: (id) => db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
    async events(taskId) {
      return db.selectFrom('task_events').select(['kind', 'data']).where('task_id', '=', taskId).orderBy('id').execute();
    },
    async stop() {
      // Every step runs even if one fails: a leftover server would outlive the test run.
      const failures: unknown[] = [];
      for (const step of [...closers.reverse(), () => database.close(), () => nats.stop()]) await step().catch((err: unknown) => failures.push(err));
      if (failures.length > 0) throw new AggregateError(failures, 'stopping the test fleet failed');
    },
  };
  return fleet;
}
