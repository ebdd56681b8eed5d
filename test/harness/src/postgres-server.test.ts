import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from './postgres-server.js';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('startPostgres', () => {
  const started: PostgresServer[] = [];
  afterEach(async () => {
    delete process.env.KEYFLEET_TEST_DATABASE_URL;
    delete process.env.KEYFLEET_PG_BIN_DIR;
    for (const s of started.splice(0).reverse()) await s.stop();
  });

  it('runs a real Postgres 15+ cluster with an empty database and removes it on stop', async () => {
    const server = await startPostgres();
    const [row] = await query<{ db: string; v: string }>(server.url, "select current_database() as db, current_setting('server_version_num') as v");
    expect(row!.db).toBe('keyfleet');
    expect(Number(row!.v)).toBeGreaterThanOrEqual(150000);
    await query(server.url, 'create table t (id int primary key)');
    expect(await query(server.url, 'insert into t values (1), (2) returning id')).toHaveLength(2);

    expect(server.dir && existsSync(server.dir)).toBe(true);
    await server.stop();
    expect(existsSync(server.dir!)).toBe(false);
    await expect(query(server.url, 'select 1')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('creates and drops a fresh database on an existing server given KEYFLEET_TEST_DATABASE_URL', async () => {
    const admin = await startPostgres();
    started.push(admin);
    process.env.KEYFLEET_TEST_DATABASE_URL = admin.url;
    const a = await startPostgres();
    const b = await startPostgres();
    expect(a.dir).toBeUndefined();
    const name = new URL(a.url).pathname.slice(1);
    expect(name).toMatch(/^kf_test_[0-9a-f]{12}$/);
    expect(new URL(b.url).pathname).not.toBe(new URL(a.url).pathname);
    // An open connection must not keep the database from being dropped.
    const held = new pg.Client({ connectionString: a.url });
    await held.connect();
    held.on('error', () => {});
    await b.stop();
    await a.stop();
    await held.end().catch(() => {});
    const left = await query<{ datname: string }>(admin.url, "select datname from pg_database where datname like 'kf_test_%'");
    expect(left).toEqual([]);
  });

  it('fails with the reason when the Postgres binaries are missing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'kf-nobin-'));
    process.env.KEYFLEET_PG_BIN_DIR = empty;
    try {
      await expect(startPostgres()).rejects.toThrow(`initdb not found in KEYFLEET_PG_BIN_DIR=${empty}`);
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});
