import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findBinary } from './find-binary.js';
import { testPort } from './test-port.js';

const run = promisify(execFile);

export interface PostgresServer {
  /** Connection URL of a fresh, empty database owned by a superuser. */
  url: string;
  /** The cluster's temp dir (data + socket); undefined when an external server is used. */
  dir: string | undefined;
  /** Stops the cluster and removes its dir, or drops the database on an external server. */
  stop(): Promise<void>;
  /**
   * Fast shutdown (every connection is cut), `downMs` of outage, then the same cluster on the
   * same port again. Not available on an external server.
   */
  restart(downMs?: number): Promise<void>;
}

const PG_HINT = 'apt-get install postgresql (Debian 12 ships 15), or set KEYFLEET_PG_BIN_DIR';
/** Postgres refuses to run as root; as root the cluster belongs to this system user. */
const PG_OS_USER = 'postgres';

/**
 * Starts a real Postgres cluster in a temp dir on a loopback port (`testPort`: Postgres cannot
 * pick its own; a port taken meanwhile is an EADDRINUSE, and the postmaster starts on another).
 * With KEYFLEET_TEST_DATABASE_URL (an existing server's admin URL) a fresh random
 * database is created there instead, and dropped on stop.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const adminUrl = process.env.KEYFLEET_TEST_DATABASE_URL;
  if (adminUrl) return createExternalDatabase(adminUrl);

  const initdb = findBinary('initdb', 'KEYFLEET_PG_BIN_DIR', ['/usr/lib/postgresql/15/bin'], PG_HINT);
  const postgres = findBinary('postgres', 'KEYFLEET_PG_BIN_DIR', [dirname(initdb)], PG_HINT);
  const asUser = process.getuid?.() === 0 ? await unprivilegedPrefix() : [];

  const dir = await mkdtemp(join(tmpdir(), 'kf-pg-'));
  try {
    if (asUser.length > 0) {
      const { uid, gid } = await userIds(PG_OS_USER);
      await chown(dir, uid, gid);
    }
    const dataDir = join(dir, 'data');
    await runChecked(asUser, initdb, ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    let { proc, port } = await launch(asUser, postgres, dataDir, dir);
    const url = `postgres://postgres@127.0.0.1:${port}/keyfleet`;
    // A crashed test run must not leave a postmaster behind on a 2-core machine.
    const killOnExit = () => proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    try {
      await createDatabase(`postgres://postgres@127.0.0.1:${port}/postgres`, 'keyfleet');
    } catch (err) {
      await shutdown(proc);
      throw err;
    }
    return {
      url,
      dir,
      async stop() {
        process.off('exit', killOnExit);
        await shutdown(proc);
        await rm(dir, { recursive: true, force: true });
      },
      async restart(downMs = 0) {
        await shutdown(proc);
        await new Promise((r) => setTimeout(r, downMs));
        ({ proc } = await launch(asUser, postgres, dataDir, dir, port));
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function createExternalDatabase(adminUrl: string): Promise<PostgresServer> {
  const name = `kf_test_${randomBytes(6).toString('hex')}`;
  await createDatabase(adminUrl, name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dir: undefined,
    async restart() {
      throw new Error('cannot restart an external Postgres (KEYFLEET_TEST_DATABASE_URL)');
    },
    async stop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot connect to Postgres at ${redact(adminUrl)}: ${(err as Error).message}`);
  }
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/** setpriv execs (no fork), so the spawned pid is the postmaster itself and gets our signals. */
async function unprivilegedPrefix(): Promise<string[]> {
  const setpriv = findBinary('setpriv', 'KEYFLEET_SETPRIV', [], 'apt-get install util-linux');
  await ensureUser(PG_OS_USER);
  return [setpriv, `--reuid=${PG_OS_USER}`, `--regid=${PG_OS_USER}`, '--clear-groups', '--'];
}

async function ensureUser(name: string): Promise<void> {
  try {
    await userIds(name);
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    } catch (err) {
      throw new Error(`Postgres cannot run as root and creating system user ${name} failed: ${(err as Error).message}`);
    }
  }
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

async function runChecked(prefix: string[], bin: string, args: string[]): Promise<void> {
  const [cmd, ...rest] = [...prefix, bin, ...args];
  try {
    await run(cmd!, rest, { env: { ...process.env, LC_ALL: 'C' } });
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${bin} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

async function launch(
  prefix: string[],
  postgres: string,
  dataDir: string,
  socketDir: string,
  fixedPort?: number,
): Promise<{ proc: ChildProcess; port: number }> {
  // The postmaster binds the port itself, so a taken port is its EADDRINUSE, never a probe's
  // race: start again on another one (or, for a restart on its own port, once the old socket is gone).
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? testPort();
    const args = [
      '-D',
      dataDir,
      '-k',
      socketDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ];
    const [cmd, ...rest] = [...prefix, postgres, ...args];
    const proc = spawn(cmd!, rest, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    try {
      await waitReady(proc, socketDir, port, () => stderr);
      return { proc, port };
    } catch (err) {
      await shutdown(proc);
      if (attempt < 10 && stderr.includes('Address already in use')) {
        // The same port again (a restart) may need the old socket to be gone first.
        if (fixedPort) await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      throw err;
    }
  }
}

/**
 * Ready once it answers on its own Unix socket: the postmaster opens that only after its TCP
 * port, and a TCP connection could reach another server that holds the port this one failed to bind.
 */
async function waitReady(proc: ChildProcess, socketDir: string, port: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`postgres exited (${proc.exitCode ?? proc.signalCode}): ${stderr()}`);
    }
    const client = new pg.Client({ host: socketDir, port, user: 'postgres', database: 'postgres' });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      lastError = (err as Error).message;
      await client.end().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`postgres did not accept connections on port ${port} within 30s (${lastError}): ${stderr()}`);
}

/** SIGINT is Postgres' "fast" shutdown: it does not wait for clients to disconnect. */
async function shutdown(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGINT');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
