import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { lockDir } from '@keyfleet/dir-lock';
import { createLogger, type Logger } from '@keyfleet/log';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';

export interface DbHandle {
  db: Kysely<Database>;
  /** `postgres` when DATABASE_URL was given, `pglite` for the embedded database. */
  kind: 'postgres' | 'pglite';
  /** Closes the pool and, for the embedded database, its socket server and PGlite. */
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** A Postgres connection string; without it an embedded PGlite is used. */
  databaseUrl?: string;
  /** Where the embedded PGlite keeps its files. */
  dataDir?: string;
  /**
   * A PGlite `dumpDataDir` snapshot to start a new embedded database from instead
   * of running initdb (seconds saved per database; tests use it).
   */
  snapshot?: Blob;
  /** Where a lost idle connection is reported (default: a `keyfleet-hub` logger). */
  log?: Logger;
}

const DEFAULT_DATA_DIR = '.keyfleet/hub-db';

// bigserial ids and count(*) come back as int8; they stay far below 2^53, so numbers are safe.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Opens the hub database. The embedded PGlite is served over a loopback socket and
 * reached with the ordinary `pg` driver so both modes run the same SQL path; its pool
 * holds one connection because PGlite runs one session at a time.
 */
export async function createDb(opts: CreateDbOptions = {}): Promise<DbHandle> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10, types });
    // An idle connection that Postgres closes (restart, failover, pg_terminate_backend) is an
    // 'error' event on the pool; unhandled, it would crash the hub. The pool has already dropped
    // that connection and opens a new one on the next query.
    const log = opts.log ?? createLogger('keyfleet-hub');
    pool.on('error', (err) => log.warn({ reason: err.message }, 'lost an idle database connection; the next query opens a new one'));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }

  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  await mkdir(dataDir, { recursive: true });
  // PGlite does not lock its files: a second hub on the same dir would open it too, and each
  // would overwrite the other's writes.
  const lock = await lockDir(dataDir, 'keyfleet-hub');
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir, opts.snapshot ? { loadDataDir: opts.snapshot } : {});
  } catch (err) {
    await lock.release();
    throw err;
  }
  // A few spare connections so a pool reconnect never meets "too many connections"
  // while the old socket is still being torn down.
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 4 });
  try {
    await server.start();
  } catch (err) {
    await pglite.close();
    await lock.release();
    throw new Error(`cannot serve the embedded database on loopback: ${(err as Error).message}`, { cause: err });
  }
  const [host, port] = server.getServerConn().split(':');
  const pool = new pg.Pool({ host, port: Number(port), user: 'postgres', database: 'postgres', max: 1, types });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'pglite',
    async close() {
      await db.destroy();
      await server.stop();
      await pglite.close();
      await lock.release();
    },
  };
}
