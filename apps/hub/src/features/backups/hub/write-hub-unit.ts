import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TarWriter } from '@keyfleet/backup-tar';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import pkg from '../../../../package.json' with { type: 'json' };
import type { DbSource } from '../../../store/create-db.js';
import type { Database } from '../../../store/database.js';
import type { HubBackupManifest, PgDumpDatabase } from './hub-backup-manifest.js';
import { hubPgTool } from './hub-pg-tool.js';
import { type DbFacts, readDbFacts } from './read-db-facts.js';

/** Bytes of the dump per tar entry, as in host units: what is in memory at most (twice: one entry sent while the next is read). */
const DUMP_PART_BYTES = 4 * 1024 * 1024;
/** Where an embedded hub's data dir goes in the unit. */
const PGDATA_ROOT = 'database/pgdata';

/**
 * Writes the hub's own database into `tar` and finishes it with manifest.json: a Postgres as
 * `pg_dump -Fc` in the snapshot its row counts are read in, an embedded PGlite as its data dir's
 * files, copied while the hub's one connection is held and PGlite's query lock is taken (the
 * counts and the files are the same state; the hub's queries wait for the copy).
 */
export async function writeHubUnit(
  tar: TarWriter,
  source: DbSource,
  coreDb: Kysely<Database>,
  backupId: string,
  signal: AbortSignal,
): Promise<HubBackupManifest> {
  const startedAt = new Date().toISOString();
  const manifest = (facts: DbFacts, database: HubBackupManifest['database'], files: HubBackupManifest['files']): HubBackupManifest => ({
    format: 'keyfleet-hub-backup/1',
    backupId,
    hub: { version: pkg.version, database: source.kind },
    migration: facts.migration,
    tables: facts.tables,
    database,
    files,
    startedAt,
    finishedAt: new Date().toISOString(),
  });
  let result: HubBackupManifest;
  if (source.kind === 'postgres') {
    const client = new pg.Client({ connectionString: source.url, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      const query = async (text: string) => (await client.query(text)).rows;
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snapshot = String((await query('SELECT pg_export_snapshot() AS id'))[0]!.id);
      const facts = await readDbFacts(query);
      const dump = await dumpInto(tar, source.url, snapshot, facts.serverVersion, signal);
      result = manifest(facts, dump, []);
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
  } else {
    result = await coreDb.connection().execute(async (conn) => {
      const facts = await readDbFacts(async (text: string) => (await sql.raw<Record<string, unknown>>(text).execute(conn)).rows);
      const files = await source.runExclusive(() => copyDataDir(tar, source.dataDir));
      return manifest(facts, { format: 'pglite-datadir', serverVersion: facts.serverVersion, root: PGDATA_ROOT }, files);
    });
  }
  await tar.add('manifest.json', Buffer.from(`${JSON.stringify(result, null, 2)}\n`));
  tar.finish();
  return result;
}

/** `pg_dump -Fc` of the hub's Postgres in `snapshot`, into tar entries of DUMP_PART_BYTES; the password goes by environment. */
async function dumpInto(tar: TarWriter, url: string, snapshot: string, serverVersion: string, signal: AbortSignal): Promise<PgDumpDatabase> {
  const pgDump = await hubPgTool('pg_dump', Number(serverVersion.split('.')[0]));
  const target = new URL(url);
  const password = decodeURIComponent(target.password);
  target.password = '';
  const child = spawn(pgDump.path, ['-Fc', '--no-password', `--snapshot=${snapshot}`, '-d', target.toString()], {
    env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}), PGCONNECT_TIMEOUT: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.once('error', () => undefined);
  const dump = await tar.addSplitStream('database/hub.dump', child.stdout, DUMP_PART_BYTES);
  const code = await exited;
  if (code !== 0) throw new Error(`pg_dump failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
  return { format: 'pg_dump-custom', serverVersion, pgDumpVersion: pgDump.version, ...dump };
}

/**
 * Every directory and regular file of the data dir under PGDATA_ROOT, streamed from disk. Left
 * out: what is not PGlite's (the socket the hub serves it on, the dir lock's id file: dotfiles
 * at the top).
 */
async function copyDataDir(tar: TarWriter, dataDir: string): Promise<HubBackupManifest['files']> {
  const files: HubBackupManifest['files'] = [];
  const walk = async (rel: string) => {
    const entries = (await readdir(join(dataDir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (rel === '' && e.name.startsWith('.')) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      const abs = join(dataDir, path);
      if (e.isDirectory()) {
        await tar.addDirectory(`${PGDATA_ROOT}/${path}`, (await stat(abs)).mode & 0o777);
        await walk(path);
      } else if (e.isFile()) {
        const st = await stat(abs);
        const sha256 = await tar.addFile(`${PGDATA_ROOT}/${path}`, abs, st.size, st.mode & 0o777);
        files.push({ path: `${PGDATA_ROOT}/${path}`, size: st.size, sha256 });
      }
    }
  };
  await tar.addDirectory(PGDATA_ROOT);
  await walk('');
  return files;
}
