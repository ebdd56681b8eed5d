import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { startPostgres } from '@keyfleet/test-harness';
import { createDb, type DbHandle } from './create-db.js';
import { freshClusterSnapshot } from './test-database.js';

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
