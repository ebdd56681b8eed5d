// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { startPostgres } from '@keyfleet/test-harness';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../store/database.js';
import { migrateUp } from '../store/migrator.js';
import { hubFeatures } from '../features/index.js';
import { freshClusterSnapshot } from './fresh-cluster-snapshot.js';

export interface TestDatabase {
  db: Kysely<Database>;
  /** Another, independent connection to the same database (what a second hub would have). */
  connect(): Kysely<Database>;
  stop(): Promise<void>;
}

/**
 * A migrated database for dispatcher tests: embedded PGlite in a temp dir served
 * over its socket (what the hub uses by default), or a real Postgres cluster.
 * Unlike `createTestDb`, it hands out further independent connections, one per
 * simulated hub. Each Kysely gets a pool of one, as the hub's embedded mode does.
 */
export async function startTestDatabase(kind: 'pglite' | 'postgres' = 'pglite'): Promise<TestDatabase> {
  const kyselys: Kysely<Database>[] = [];
  let connectionString: string;
  let shutdown: () => Promise<void>;
  if (kind === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'kf-dispatch-db-'));
    const pglite = await PGlite.create(join(dir, 'data'), { loadDataDir: await freshClusterSnapshot() });
    const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 8 });
    await server.start();
    connectionString = `postgres://postgres@${server.getServerConn()}/postgres`;
    shutdown = async () => {
      await server.stop();
      await pglite.close();
      await rm(dir, { recursive: true, force: true });
    };
  } else {
    const server = await startPostgres();
    connectionString = server.url;
    shutdown = () => server.stop();
  }
  let stopping = false;
  const connect = (): Kysely<Database> => {
    const pool = new pg.Pool({ connectionString, max: 1 });
    // pool.end() resolves before every socket has closed; the server's goodbye to those is expected.
    pool.on('error', (err) => {
      if (!stopping) throw err;
    });
    const k = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    kyselys.push(k);
    return k;
  };
  const stop = async () => {
    stopping = true;
    for (const k of kyselys) await k.destroy();
    await shutdown();
  };
  const db = connect();
  try {
    await migrateUp(db, hubFeatures);
  } catch (err) {
    await stop();
    throw err;
  }
  return { db, connect, stop };
}
