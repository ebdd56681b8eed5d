import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import v8 from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { lockDir } from '@keyfleet/dir-lock';
import { createLogger, type Logger } from '@keyfleet/log';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import { initEmbeddedDb } from './init-embedded-db.js';

export interface DbHandle {
  db: Kysely<Database>;
  /** `postgres` when KEYFLEET_DATABASE_URL was given, `pglite` for the embedded database. */
  kind: 'postgres' | 'pglite';
  /** Closes the pool and, for the embedded database, its socket server and PGlite. */
  close(): Promise<void>;
  /** How the hub's own backup reads this database (hub backups; absent on extra test connections). */
  source?: DbSource;
}

/**
 * What a backup of the hub's own database reads: a Postgres by its URL (pg_dump), or the embedded
 * PGlite's data dir, read while `runExclusive` holds PGlite's query lock (no statement runs, so
 * the files are one crash-consistent state; PGlite's own `dumpDataDir` does the same, but into
 * one Blob in memory, and fails on the socket this data dir also holds).
 */
export type DbSource = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string; runExclusive<T>(fn: () => Promise<T>): Promise<T> };

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

/** Postgres' socket file name for a port; `pg` connects to `<host dir>/.s.PGSQL.<port>`. */
const SOCKET_PORT = 5432;
const SOCKET_NAME = `.s.PGSQL.${SOCKET_PORT}`;
/** sun_path holds 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * Memory settings of the embedded Postgres. Its WebAssembly memory only ever grows, and
 * `shared_buffers` is resident from the first second (measured): at the default 128MB the
 * embedded hub idled at ~400 MB RSS. 16MB holds the
 * hot part of a fleet's tables; a page outside it is a read from the kernel's page cache, not
 * from disk. `maintenance_work_mem` caps what an index build in a migration can add for good.
 */
const EMBEDDED_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'maintenance_work_mem=16MB'];

/**
 * Opens the hub database. The embedded PGlite is served over a Unix socket and reached
 * with the ordinary `pg` driver so both modes run the same SQL path; its pool holds one
 * connection because PGlite runs one session at a time.
 *
 * PGlite's socket server knows no authentication: whoever connects is superuser. So it
 * listens on no TCP port, only on a 0600 socket inside the 0700 data dir, where only the
 * hub's own user (and root) can reach it, as with every other file of the hub's state.
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
    return { db, kind: 'postgres', close: () => db.destroy(), source: { kind: 'postgres', url: opts.databaseUrl } };
  }

  const dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Data dirs made by earlier versions were 0755; the socket's safety rests on this dir.
  await chmod(dataDir, 0o700);
  // PGlite does not lock its files: a second hub on the same dir would open it too, and each
  // would overwrite the other's writes.
  const lock = await lockDir(dataDir, 'keyfleet-hub');
  let pglite: PGlite;
  try {
    if (!opts.snapshot && !existsSync(join(dataDir, 'PG_VERSION'))) await initEmbeddedDb(dataDir, EMBEDDED_START_PARAMS);
    // V8 compiles PGlite's 9 MB of WebAssembly with its baseline compiler, then recompiles hot
    // functions with its optimizing one, whose work memory stays in malloc's arenas: ~35-55 MB
    // more RSS for the hub. Baseline code is enough for the hub's small queries (a scan of ~15,000
    // rows takes 4 ms instead of 2.5 ms). It applies to WebAssembly compiled from now on; PGlite
    // is the only sizeable module in the hub.
    v8.setFlagsFromString('--liftoff-only');
    pglite = await PGlite.create(dataDir, { startParams: EMBEDDED_START_PARAMS, ...(opts.snapshot ? { loadDataDir: opts.snapshot } : {}) });
  } catch (err) {
    await lock.release();
    throw err;
  }
  let socketDir = dataDir;
  let ownSocketDir = false;
  if (Buffer.byteLength(join(dataDir, SOCKET_NAME)) > MAX_SOCKET_PATH) {
    // A socket path this long cannot be bound; a private 0700 dir of our own is as closed.
    socketDir = await mkdtemp(join(tmpdir(), 'kf-db-'));
    ownSocketDir = true;
  }
  const socketPath = join(socketDir, SOCKET_NAME);
  // Left by a hub that crashed: the dir lock proves no live hub listens on it.
  await rm(socketPath, { force: true });
  // A few spare connections so a pool reconnect never meets "too many connections"
  // while the old socket is still being torn down.
  const server = new PGLiteSocketServer({ db: pglite, path: socketPath, maxConnections: 4 });
  const cleanUp = async () => {
    if (ownSocketDir) await rm(socketDir, { recursive: true, force: true });
    await pglite.close();
    await lock.release();
  };
  try {
    await server.start();
    // The dir is closed already; this keeps the socket closed should it ever be moved or linked.
    await chmod(socketPath, 0o600);
  } catch (err) {
    await server.stop().catch(() => {});
    await cleanUp();
    throw new Error(`cannot serve the embedded database on ${socketPath}: ${(err as Error).message}`, { cause: err });
  }
  const pool = new pg.Pool({ host: socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 1, types });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'pglite',
    source: { kind: 'pglite', dataDir, runExclusive: (fn) => pglite.runExclusive(fn) },
    async close() {
      await db.destroy();
      await server.stop();
      await rm(socketPath, { force: true });
      await cleanUp();
    },
  };
}
