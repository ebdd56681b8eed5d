// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { startPostgres } from '@keyfleet/test-harness';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { hubFeatures } from '../features/index.js';
import { createDb, type DbHandle } from '../store/create-db.js';
import type { Database } from '../store/database.js';
import { migrateUp } from '../store/migrator.js';
import { freshClusterSnapshot } from './fresh-cluster-snapshot.js';

/** The two databases the hub runs on: embedded PGlite (the default) and a real Postgres. */
export type TestBackend = 'pglite' | 'postgres';

/** Both backends, for `describe.each(testBackends)`: a suite that touches the database runs on each. */
export const testBackends: readonly TestBackend[] = ['pglite', 'postgres'];

export interface TestDatabase extends DbHandle {
  /** Another, independent connection to the same database (what a second hub would have). */
  connect(): Kysely<Database>;
  /** Where a plain `pg.Client` reaches the same database (for transactions a test drives itself). */
  clientConfig: pg.ClientConfig;
}

/**
 * A migrated hub database opened the way the hub opens it (`createDb`): embedded PGlite in a
 * temp dir, restored from a snapshot and served over its Unix socket, or a real Postgres
 * (`startPostgres`: a cluster of its own, or a fresh database on KEYFLEET_TEST_DATABASE_URL).
 * It hands out further independent connections, one per simulated hub. Start one per test
 * file and backend: even from a snapshot, PGlite takes seconds, a Postgres cluster a few more.
 * `close` closes every connection and removes the database.
 */
export async function startTestDatabase(kind: TestBackend): Promise<TestDatabase> {
  const handles: DbHandle[] = [];
  let closing = false;
  const open = (config: pg.PoolConfig): Kysely<Database> => {
    const pool = new pg.Pool({ ...config, types: { getTypeParser: int8AsNumber } });
    // pool.end() resolves before every socket has closed; the server's goodbye to those is expected.
    pool.on('error', (err) => {
      if (!closing) throw err;
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    handles.push({ db, kind, close: () => db.destroy() });
    return db;
  };
  let clientConfig: pg.ClientConfig;
  let remove: () => Promise<void>;
  if (kind === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'kf-hub-db-'));
    try {
      handles.push(await createDb({ dataDir: dir, snapshot: await freshClusterSnapshot() }));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    // The embedded database's own socket, in its data dir when the path is short enough (a temp dir's is).
    if (!existsSync(join(dir, '.s.PGSQL.5432'))) throw new Error(`the embedded database's socket is not in ${dir}: use a shorter TMPDIR`);
    clientConfig = { host: dir, port: 5432, user: 'postgres', database: 'postgres' };
    remove = () => rm(dir, { recursive: true, force: true });
  } else {
    const server = await startPostgres();
    try {
      // pool.end() resolves before every socket has closed: the server's goodbye at stop is no news.
      handles.push(await createDb({ databaseUrl: server.url, log: createLogger('test-database', { level: 'silent' }) }));
    } catch (err) {
      await server.stop();
      throw err;
    }
    clientConfig = { connectionString: server.url };
    remove = () => server.stop();
  }
  const database: TestDatabase = {
    db: handles[0]!.db,
    kind,
    source: handles[0]!.source,
    clientConfig,
    // One session per pool on PGlite, as the hub's; a pool of ten on Postgres, as the hub's.
    connect: () => open({ ...clientConfig, max: kind === 'pglite' ? 1 : 10 }),
    async close() {
      closing = true;
      // Later connections first: the embedded database's own handle stops its socket server.
      const failures: unknown[] = [];
      for (const h of handles.reverse()) await h.close().catch((err: unknown) => failures.push(err));
      await remove().catch((err: unknown) => failures.push(err));
      if (failures.length > 0) throw new AggregateError(failures, 'closing the test database failed');
    },
  };
  try {
    await migrateUp(database.db, hubFeatures);
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  return database;
}

/** As the hub reads them (`createDb`): bigserial ids and counts are int8, far below 2^53. */
const int8AsNumber = ((oid: number, format?: 'text' | 'binary') =>
  oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;
