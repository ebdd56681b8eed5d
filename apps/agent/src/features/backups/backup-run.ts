import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { BackupManifest } from '@keyfleet/proto/v1';
import { identityStore } from '../../identity-store.js';
import type { TaskHandler } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { installedInstance, keycloakBuild } from '../keycloak/index.js';
import { databaseFacts } from './database-facts.js';
import { keycloakDatabase } from './keycloak-database.js';
import { keycloakFiles } from './keycloak-files.js';
import { maskedConfig } from './masked-config.js';
import { pgBinary } from './pg-binary.js';
import { PROGRESS_EVERY_MS } from './progress-every-ms.js';
import { TarWriter } from '@keyfleet/backup-tar';
import { completeUpload, uploadCiphertext } from './upload-target.js';

/** Bytes of the dump per tar entry: what the backup holds in memory at most (tar needs sizes up front). */
export const DUMP_PART_BYTES = 4 * 1024 * 1024;

/**
 * backup.run: one stream from the database to storage. pg_dump -Fc (in the snapshot the counts
 * were read in) and the Keycloak files go into a tar, the tar through age to the recipients,
 * the ciphertext to the upload target. Nothing is written to disk and no identity is ever
 * here, so this host can write its backups but never read one.
 */
export const backupRun: TaskHandler<'backup.run'> = async (input, ctx) => {
  // Loaded by the task, not at start: an idle agent never runs pg's or age's code.
  const [{ default: pg }, { Encrypter }] = await Promise.all([import('pg'), import('age-encryption')]);
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const record = await installedInstance(ctx.stateDir);
  const target = keycloakDatabase(record);
  const { identity } = await identityStore.load(ctx.stateDir);
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 250);

  const abort = new AbortController();
  const onAbort = () => abort.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  // The snapshot pg_dump reads, held open by this connection until the dump is done.
  const client = new pg.Client({ ...target, connectionTimeoutMillis: 10_000 });
  const tar = new TarWriter();
  try {
    await client.connect().catch((err: Error) => {
      throw new TaskFailure('handler_error', `cannot connect to Keycloak's database ${target.host}:${target.port}/${target.database}: ${err.message}`);
    });
    const serverVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    const facts = await databaseFacts(client);
    const realms = await Promise.all(
      facts.map(async (f) => ({
        realm: f.realm,
        users: f.users,
        clients: f.clients,
        groups: f.groups,
        kids: (await jwksKids(record.baseUrl, f.realm)) ?? f.storedKids,
      })),
    );
    const pgDump = await pgBinary('pg_dump', Number(serverVersion.split('.')[0]));
    const files = await keycloakFiles(record, ctx.stateDir);

    const encrypter = new Encrypter();
    for (const r of input.recipients) encrypter.addRecipient(r);
    const ciphertext = await encrypter.encrypt(tar.stream());
    const uploading = uploadCiphertext(ciphertext, input.upload, identity.hubUrl, abort.signal);
    // A failed upload must stop the writer too, or it would wait forever for a reader.
    uploading.catch(() => {
      tar.pack.destroy();
      abort.abort();
    });

    const writing = (async () => {
      const manifestFiles: BackupManifest['files'] = [];
      const config = Buffer.from(`${JSON.stringify(maskedConfig(record.config), null, 2)}\n`);
      await tar.add('keyfleet/keycloak-config.json', config);
      manifestFiles.push({ path: 'keyfleet/keycloak-config.json', size: config.length, sha256: sha256(config) });
      for (const f of files) {
        const digest = await tar.addFile(f.path, f.source, f.size, f.mode);
        manifestFiles.push({ path: f.path, size: f.size, sha256: digest });
      }
      ctx.progress(5, `${files.length + 1} files; dumping the database`);
      // The dump's size is not known before it ends (pg_dump compresses): bytes without a total.
      const dump = await dumpInto(tar, pgDump.path, target, snapshot, abort.signal, (bytes) => ctx.progress(undefined, 'dumping the database', { bytes }));
      ctx.progress(90, 'database dumped', { bytes: dump.size, totalBytes: dump.size });
      const manifest: BackupManifest = {
        format: 'keyfleet-backup/1',
        backupId: input.backupId,
        hostId: ctx.agent.hostId,
        keycloak: { version: record.version, runtime: record.runtime, buildOptions: keycloakBuild(record.config).args, hostname: record.hostname },
        database: { format: 'pg_dump-custom', pgDumpVersion: pgDump.version, serverVersion, size: dump.size, sha256: dump.sha256, parts: dump.parts },
        realms,
        files: manifestFiles,
        startedAt,
        finishedAt: new Date().toISOString(),
      };
      await tar.add('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
      tar.finish();
      return manifest;
    })();
    writing.catch(() => abort.abort());

    const [manifest, uploaded] = await Promise.all([writing, uploading]).catch((err: unknown) => {
      if (ctx.signal.aborted) throw new TaskFailure('handler_error', `backup ${input.backupId} cancelled: ${String(ctx.signal.reason ?? 'aborted')}`);
      throw err;
    });
    await client.query('COMMIT');
    await completeUpload(input.upload, identity.hubUrl, { ...uploaded, manifest }, ctx.signal);
    return {
      backupId: input.backupId,
      sizeBytes: uploaded.size,
      sha256: uploaded.sha256,
      durationMs: Date.now() - started,
      dumpBytes: manifest.database.size,
      files: manifest.files.length,
      realms: manifest.realms.map((r) => ({ realm: r.realm, users: r.users })),
      peakRssBytes: peakRss,
    };
  } finally {
    clearInterval(sampler);
    ctx.signal.removeEventListener('abort', onAbort);
    abort.abort();
    await client.end().catch(() => undefined);
  }
};

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** `kid`s of a realm's JWKS as Keycloak serves them now; undefined when it does not answer. */
async function jwksKids(baseUrl: string, realm: string): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${baseUrl}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/certs`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { keys?: Array<{ kid?: string }> };
    return (body.keys ?? []).flatMap((k) => (k.kid ? [k.kid] : [])).sort();
  } catch {
    return undefined;
  }
}

/** pg_dump -Fc in the given snapshot into tar entries of DUMP_PART_BYTES; size and sha256 of the whole dump. */
async function dumpInto(
  tar: TarWriter,
  pgDump: string,
  db: { host: string; port: number; database: string; user: string; password: string },
  snapshot: string,
  signal: AbortSignal,
  progress: (bytes: number) => void,
): Promise<{ size: number; sha256: string; parts: string[] }> {
  progress(0);
  const child = spawn(pgDump, ['-Fc', '--no-password', `--snapshot=${snapshot}`, '-h', db.host, '-p', String(db.port), '-U', db.user, '-d', db.database], {
    // The password goes by environment, never on the command line.
    env: { ...process.env, PGPASSWORD: db.password, PGCONNECT_TIMEOUT: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.once('error', () => undefined);
  let lastProgress = Date.now();
  const dump = await tar.addSplitStream('database/keycloak.dump', child.stdout, DUMP_PART_BYTES, (size) => {
    if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
    lastProgress = Date.now();
    progress(size);
  });
  const code = await exited;
  if (code !== 0) throw new TaskFailure('handler_error', `pg_dump failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
  return dump;
}
