import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { startPostgres } from '@keyfleet/test-harness';
import { createDb, type DbHandle } from './create-db.js';
import { freshClusterSnapshot } from '../testing/fresh-cluster-snapshot.js';

describe('createDb, embedded', () => {
  const open: DbHandle[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('refuses a second opener of the same data dir, which would overwrite the first one’s writes, and reopens after close', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kf-hub-db-'));
    dirs.push(dataDir);
    const first = await createDb({ dataDir, snapshot: await freshClusterSnapshot() });
    await sql`create table kept (v int)`.execute(first.db);
    await sql`insert into kept values (42)`.execute(first.db);

    await expect(createDb({ dataDir })).rejects.toThrow(`${dataDir} is in use by keyfleet-hub (pid ${process.pid}); stop it first`);

    await first.close();
    const again = await createDb({ dataDir });
    open.push(again);
    const { rows } = await sql<{ v: number }>`select v from kept`.execute(again.db);
    expect(rows).toEqual([{ v: 42 }]);
  });

  it('makes a new cluster (initdb in a child process) with small buffers, and keeps its data across a reopen', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kf-hub-db-'));
    dirs.push(dataDir);
    const first = await createDb({ dataDir });
    const settings = await sql<{
      sb: string;
      mwm: string;
    }>`select current_setting('shared_buffers') as sb, current_setting('maintenance_work_mem') as mwm`.execute(first.db);
    expect(settings.rows).toEqual([{ sb: '16MB', mwm: '16MB' }]);
    await sql`create table kept (v int)`.execute(first.db);
    await sql`insert into kept values (7)`.execute(first.db);
    await first.close();

    const again = await createDb({ dataDir });
    open.push(again);
    const { rows } = await sql<{ v: number }>`select v from kept`.execute(again.db);
    expect(rows).toEqual([{ v: 7 }]);
  }, 120_000);
});

/** Inodes of the TCP sockets this process listens on (state 0A in /proc/net/tcp*). */
async function tcpListeners(): Promise<Set<string>> {
  const listening = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') listening.add(cols[9]!);
    }
  }
  const own = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const inode = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/self/fd/${fd}`).catch(() => ''))?.[1];
    if (inode && listening.has(inode)) own.add(inode);
  }
  return own;
}

describe('createDb, embedded database access', () => {
  it('listens on no TCP port, only on a 0600 socket in the 0700 data dir that another local user cannot open', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'kf-hub-db-'));
    // An open parent, so only the data dir and the socket themselves keep other users out.
    await chmod(parent, 0o755);
    const dataDir = join(parent, 'db');
    const before = await tcpListeners();
    const handle = await createDb({ dataDir, snapshot: await freshClusterSnapshot() });
    try {
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(handle.db);
      expect(rows).toEqual([{ one: 1 }]);
      const opened = [...(await tcpListeners())].filter((inode) => !before.has(inode));
      expect(opened).toEqual([]);

      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      const entries = await readdir(dataDir);
      const sockets: string[] = [];
      for (const name of entries) if ((await stat(join(dataDir, name))).isSocket()) sockets.push(name);
      expect(sockets).toEqual(['.s.PGSQL.5432']);
      const socketPath = join(dataDir, sockets[0]!);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);

      if (process.getuid?.() === 0) {
        // Root passes every permission check, so ask as an ordinary user.
        const probe = `require('net').connect(${JSON.stringify(socketPath)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
        const { stdout } = await promisify(execFile)('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', probe]);
        expect(stdout.trim()).toBe('EACCES');
      }
    } finally {
      await handle.close();
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('serves a data dir whose socket path would be too long from a private dir of its own', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'kf-hub-db-'));
    const dataDir = join(parent, 'd'.repeat(100));
    const handle = await createDb({ dataDir, snapshot: await freshClusterSnapshot() });
    try {
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(handle.db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe('createDb, Postgres', () => {
  it('rides out Postgres closing an idle pooled connection: logged, and the next query works', async () => {
    const server = await startPostgres();
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const handle = await createDb({ databaseUrl: server.url, log: createLogger('db-test', { destination }) });
    const admin = new pg.Client({ connectionString: server.url });
    try {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(handle.db);
      await admin.connect();
      // What a Postgres restart or failover does to every idle connection (SQLSTATE 57P01).
      await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      await vi.waitFor(() => expect(lines.join('')).toContain('lost an idle database connection'), { timeout: 10_000 });
      expect(lines.join('')).toContain('terminating connection due to administrator command');
      const after = await sql<{ one: number }>`select 1 as one`.execute(handle.db);
      expect(after.rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await handle.close();
      await server.stop();
    }
  });
});
