import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { tarEntries } from '@keyfleet/backup-tar';
import { Decrypter } from 'age-encryption';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { ApiError } from '../../../api/api-error.js';
import type { SecretStore } from '../../../secrets/secret-store.js';
import type { Database } from '../../../store/database.js';
import { backupsDb, type DrillRecord } from '../backups-tables.js';
import type { BackupStorage } from '../storage/backup-storage.js';
import { ageIdentities } from '../unwrap-file-key.js';
import { HUB_HOST_ID, type HubBackupManifest } from './hub-backup-manifest.js';
import { hubPgTool } from './hub-pg-tool.js';
import { readDbFacts } from './read-db-facts.js';

export interface HubDrillInput {
  /** A hub secret holding the age identity, or the identity's text for this drill only (used here, never stored). */
  identitySecret?: string;
  identity?: string;
  /** A Postgres the hub may create and drop a scratch database on (a pg_dump unit; an embedded hub's unit restores into a scratch PGlite). */
  scratchUrl?: string;
  /** A hub secret with the scratch Postgres user's password (kept out of the URL, so out of schedules and the audit). */
  scratchPasswordSecret?: string;
}

type Check = { name: string; ok: boolean; detail: string };

/**
 * Proves a hub backup restores, on this hub: the object is read once and hashed against the
 * catalog, decrypted with the identity, and its database restored into a scratch copy (pg_restore
 * into a new database on `scratchUrl`; an embedded hub's data dir into a temporary 0700 dir
 * opened with PGlite), whose newest migration and rows per table must equal the manifest's. The
 * scratch copy is removed whatever happened. The backup becomes `verified`, or keeps its state
 * with the failed drill recorded.
 */
export async function drillHubBackup(
  coreDb: Kysely<Database>,
  secrets: SecretStore,
  storage: () => Promise<BackupStorage>,
  id: string,
  input: HubDrillInput,
): Promise<DrillRecord> {
  const db = backupsDb(coreDb);
  const row = await db
    .selectFrom('backups')
    .select(['host_id', 'state', 'manifest', 'storage_kind', 'storage_key', 'sha256', 'size_bytes'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new ApiError(404, `backup ${id} not found`);
  if (row.host_id !== HUB_HOST_ID) throw new ApiError(409, `backup ${id} is a host's backup: drill it on a drill host (POST /v1/backups/${id}/drill)`);
  if ((row.state !== 'stored' && row.state !== 'verified') || !row.manifest)
    throw new ApiError(409, `backup ${id} is ${row.state}: only stored or verified backups can be drilled`);
  const manifest = row.manifest as unknown as HubBackupManifest;
  if (manifest.database.format === 'pg_dump-custom' && !input.scratchUrl)
    throw new ApiError(400, `backup ${id} is a pg_dump of a Postgres hub: give scratchUrl, a Postgres to restore it into`);
  if ((input.identity === undefined) === (input.identitySecret === undefined)) throw new ApiError(400, 'give exactly one of identitySecret and identity');
  const reveal = async (name: string) => {
    const { values, problems } = await secrets.reveal([name]);
    if (!values.has(name)) throw new ApiError(404, problems.get(name) ?? `no hub secret ${name}`);
    return values.get(name)!;
  };
  const identityText = input.identitySecret ? await reveal(input.identitySecret) : (input.identity ?? '');
  let scratchUrl = input.scratchUrl;
  if (scratchUrl && input.scratchPasswordSecret) {
    const withPassword = new URL(scratchUrl);
    withPassword.password = encodeURIComponent(await reveal(input.scratchPasswordSecret));
    scratchUrl = withPassword.toString();
  }
  const identities = ageIdentities(identityText);
  if (identities.length === 0)
    throw new ApiError(
      400,
      input.identitySecret ? `secret ${input.identitySecret} holds no age identity` : 'the identity is not an age identity (AGE-SECRET-KEY-1…)',
    );
  const store = await storage();
  if (row.storage_kind !== store.kind) throw new ApiError(409, `backup ${id} is in ${row.storage_kind} storage; this hub uses ${store.kind}`);

  const drillId = `hd_${randomBytes(8).toString('hex')}`;
  const started = Date.now();
  const checks: Check[] = [];
  let error: string | undefined;
  try {
    const hash = createHash('sha256');
    let size = 0;
    const tap = new PassThrough();
    tap.on('data', (c: Buffer) => {
      hash.update(c);
      size += c.length;
    });
    const object = await store.read(row.storage_key);
    object.on('error', (err) => tap.destroy(err));
    object.pipe(tap);
    const decrypter = new Decrypter();
    for (const i of identities) decrypter.addIdentity(i);
    const plaintext = await decrypter.decrypt(Readable.toWeb(tap) as unknown as ReadableStream<Uint8Array>).catch((err: Error) => {
      throw new Error(`cannot decrypt backup ${id}: ${err.message}`);
    });
    const entries = tarEntries(Readable.fromWeb(plaintext as unknown as WebReadableStream<Uint8Array>));
    const restored =
      manifest.database.format === 'pg_dump-custom'
        ? await restorePgDump(entries, manifest, scratchUrl!, checks)
        : await restorePgliteDir(entries, manifest, checks);
    const ciphertextOk = size === Number(row.size_bytes) && hash.digest('hex') === row.sha256;
    checks.unshift({
      name: 'ciphertext',
      ok: ciphertextOk,
      detail: ciphertextOk ? `${size} bytes, sha256 as in the catalog` : 'size or sha256 differs from the catalog',
    });
    const tablesOk = sameTables(restored.tables, manifest.tables);
    checks.push({
      name: 'tables',
      ok: tablesOk.ok,
      detail: tablesOk.ok ? `${Object.keys(manifest.tables).length} tables, rows as in the manifest` : tablesOk.detail,
    });
    checks.push({
      name: 'migration',
      ok: restored.migration === manifest.migration,
      detail: `restored ${restored.migration ?? 'none'}, manifest ${manifest.migration ?? 'none'}`,
    });
  } catch (err) {
    error = (err as Error).message;
  }
  const failed = checks.find((c) => !c.ok);
  const ok = !error && !failed;
  const record: DrillRecord = {
    ok,
    taskId: drillId,
    hostId: HUB_HOST_ID,
    at: new Date().toISOString(),
    restoreMs: Date.now() - started,
    checks,
    ...(ok ? {} : { error: `backup ${id} FAILED its drill: ${error ?? `${failed!.name}: ${failed!.detail}`}` }),
  };
  await db
    .updateTable('backups')
    .set(ok ? { state: 'verified', verified_at: new Date(), last_drill: JSON.stringify(record) } : { last_drill: JSON.stringify(record) })
    .where('id', '=', id)
    .where('state', 'in', ['stored', 'verified'])
    .execute();
  return record;
}

function sameTables(got: Record<string, number>, want: Record<string, number>): { ok: boolean; detail: string } {
  const diffs = [...new Set([...Object.keys(got), ...Object.keys(want)])]
    .filter((t) => got[t] !== want[t])
    .map((t) => `${t}: restored ${got[t] ?? 'absent'}, manifest ${want[t] ?? 'absent'}`);
  return { ok: diffs.length === 0, detail: diffs.slice(0, 5).join('; ') };
}

/** The dump's parts, in order, into pg_restore on a new scratch database; its facts; the database dropped after. */
async function restorePgDump(
  entries: AsyncGenerator<import('@keyfleet/backup-tar').TarEntry>,
  manifest: HubBackupManifest,
  scratchUrl: string,
  checks: Check[],
) {
  if (manifest.database.format !== 'pg_dump-custom') throw new Error('not a pg_dump unit');
  const dump = manifest.database;
  const admin = new pg.Client({ connectionString: scratchUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  const name = `kf_hub_drill_${randomBytes(6).toString('hex')}`;
  const url = new URL(scratchUrl);
  url.pathname = `/${name}`;
  const password = decodeURIComponent(url.password);
  url.password = '';
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const pgRestore = await hubPgTool('pg_restore', Number(dump.pgDumpVersion.split('.')[0]));
    const child = spawn(pgRestore.path, ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', '-d', url.toString()], {
      env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.stdin.on('error', () => undefined);
    const hash = createHash('sha256');
    let size = 0;
    const parts: string[] = [];
    for await (const e of entries) {
      if (!dump.parts.includes(e.name)) continue;
      parts.push(e.name);
      for await (const chunk of e.body) {
        hash.update(chunk);
        size += chunk.length;
        if (!child.stdin.write(chunk)) await new Promise<void>((ok) => child.stdin.once('drain', ok));
      }
    }
    child.stdin.end();
    const code = await exited;
    const dumpOk = size === dump.size && hash.digest('hex') === dump.sha256 && parts.join() === dump.parts.join();
    checks.push({
      name: 'dump',
      ok: dumpOk,
      detail: dumpOk ? `${parts.length} parts, ${size} bytes, sha256 as in the manifest` : 'the dump differs from the manifest',
    });
    if (code !== 0) throw new Error(`pg_restore failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    checks.push({ name: 'database', ok: true, detail: `restored into scratch database ${name}` });
    const scratch = new pg.Client({ connectionString: scratchUrl.replace(/\/[^/?]*(\?|$)/, `/${name}$1`), connectionTimeoutMillis: 10_000 });
    await scratch.connect();
    try {
      return await readDbFacts(async (text) => (await scratch.query(text)).rows);
    } finally {
      await scratch.end().catch(() => undefined);
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

/** The data dir's files, each checked against the manifest, into a temporary 0700 dir; opened with PGlite for its facts; removed after. */
async function restorePgliteDir(entries: AsyncGenerator<import('@keyfleet/backup-tar').TarEntry>, manifest: HubBackupManifest, checks: Check[]) {
  if (manifest.database.format !== 'pglite-datadir') throw new Error('not a PGlite unit');
  const root = `${manifest.database.root}/`;
  const want = new Map(manifest.files.map((f) => [f.path, f]));
  const dir = await mkdtemp(join(tmpdir(), 'kf-hub-drill-'));
  const pgdata = join(dir, 'pgdata');
  try {
    await chmod(dir, 0o700);
    let bad: string | undefined;
    let files = 0;
    for await (const e of entries) {
      if (!e.name.startsWith(root)) continue;
      const path = join(pgdata, e.name.slice(root.length));
      if (e.type === 'directory') {
        await mkdir(path, { recursive: true, mode: 0o700 });
        continue;
      }
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const hash = createHash('sha256');
      const tap = new PassThrough();
      tap.on('data', (c: Buffer) => hash.update(c));
      await pipeline(Readable.from(e.body), tap, createWriteStream(path, { mode: e.mode & 0o700 }));
      files++;
      const f = want.get(e.name);
      if (!f || f.sha256 !== hash.digest('hex')) bad ??= e.name;
    }
    const filesOk = !bad && files === manifest.files.length;
    checks.push({
      name: 'files',
      ok: filesOk,
      detail: filesOk
        ? `${files} files of the data dir, sha256 as in the manifest`
        : `${bad ?? `${files} of ${manifest.files.length} files`} differs from the manifest`,
    });
    const { PGlite } = await import('@electric-sql/pglite');
    const scratch = await PGlite.create(pgdata);
    try {
      checks.push({ name: 'database', ok: true, detail: 'the data dir opened with PGlite' });
      return await readDbFacts(async (text) => (await scratch.query<Record<string, unknown>>(text)).rows);
    } finally {
      await scratch.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
