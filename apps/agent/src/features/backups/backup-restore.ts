import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { backupManifest, type BackupManifest, type keycloakInstance, type taskDefinitions } from '@keyfleet/proto/v1';
import { extract } from 'tar-stream';
import { identityStore } from '../../identity-store.js';
import type { z } from 'zod';
import type { TaskContext, TaskHandler } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { secretValue } from '../../secret-value.js';
import { installedInstance, keycloakStart, keycloakStop, keycloakVerify, loadInstance, saveInstance } from '../keycloak/index.js';
import { installForRestore } from './install-for-restore.js';
import { keycloakDatabase } from './keycloak-database.js';
import { pgBinary } from './pg-binary.js';
import { PROGRESS_EVERY_MS } from './progress-every-ms.js';
import { targetUrl } from './upload-target.js';

/** What of the Keycloak home a restore puts back; conf/ is the target's own (Keyfleet writes it from its config). */
const RESTORED_DIRS = ['keycloak/providers/', 'keycloak/themes/'];

type RestoreInput = z.output<(typeof taskDefinitions)['backup.restore']['input']>;

/**
 * backup.restore: the backup's database and files onto this host's installed Keycloak of the
 * same version. Keycloak is stopped while its database is replaced (stale caches and cluster rows
 * otherwise); pg_restore runs as one transaction, so a restore that fails leaves the database as
 * it was and Keycloak is started on it again. The plaintext tar comes from the hub, which holds
 * the identity; this host never does. A host with only the agent first gets Keycloak of the
 * backup's version from `install`; should the restore then fail, that Keycloak is left stopped:
 * an empty Keycloak answering as if restored would be worse than none.
 */
export const backupRestore: TaskHandler<'backup.restore'> = async (input, ctx) => {
  const installed = (await loadInstance(ctx.stateDir)) === undefined;
  if (installed) await installForRestore(input, ctx);
  let restored: Restored;
  try {
    restored = await restoreInto(input, ctx, installed);
  } catch (err) {
    if (!installed) throw err;
    await keycloakStop({}, ctx).catch((e: Error) => ctx.log.error({ err: e.message }, 'cannot stop the Keycloak installed for a failed restore'));
    throw new TaskFailure(
      err instanceof TaskFailure ? err.code : 'handler_error',
      `${(err as Error).message}; the Keycloak ${input.keycloakVersion} this restore installed is left stopped (it holds none of the backup's data): restore again once the cause is fixed`,
    );
  }
  const { verifyLogin } = input.install ?? {};
  if (installed && verifyLogin) {
    // The login install skipped (its realm came with the backup): from now on the host's own.
    const record = await installedInstance(ctx.stateDir);
    await saveInstance(ctx.stateDir, { ...record, config: { ...record.config, verifyLogin } });
  }
  const verify = await keycloakVerify({}, ctx);
  ctx.log.info({ backupId: input.backupId, files: restored.files, installed }, 'backup restored');
  return { backupId: input.backupId, ...restored, verify, ...(installed ? { installed } : {}) };
};

type Restored = { downtimeMs: number; restoreMs: number; files: number; instance: z.input<typeof keycloakInstance> };

/** Stops Keycloak, replaces its database and files with the backup's and starts it again. */
async function restoreInto(input: RestoreInput, ctx: TaskContext, installed: boolean): Promise<Restored> {
  // Loaded by the task, not at start: an idle agent never runs pg's code.
  const { default: pg } = await import('pg');
  const record = await installedInstance(ctx.stateDir);
  if (record.version !== input.keycloakVersion) {
    throw new TaskFailure(
      'invalid_input',
      `backup ${input.backupId} is of Keycloak ${input.keycloakVersion}, this host runs ${record.version}: install ${input.keycloakVersion} first (a database is not moved across versions by a restore)`,
    );
  }
  const target = keycloakDatabase(record);
  const { identity } = await identityStore.load(ctx.stateDir);
  const client = new pg.Client({ ...target, connectionTimeoutMillis: 10_000 });
  await client.connect().catch((err: Error) => {
    throw new TaskFailure('handler_error', `cannot connect to Keycloak's database: ${err.message}`);
  });
  const serverVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await client.end();
  const pgRestore = await pgBinary('pg_restore', Number(serverVersion.split('.')[0]));
  const home = record.process?.installDir;

  const res = await fetch(targetUrl(input.source.url, identity.hubUrl), {
    headers: { authorization: `Bearer ${secretValue(input.source.token)}` },
    signal: ctx.signal,
  });
  if (!res.ok || !res.body)
    throw new TaskFailure('invalid_input', `cannot fetch backup ${input.backupId}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);

  const stopped = Date.now();
  await keycloakStop({}, ctx);
  ctx.progress(10, 'Keycloak stopped; restoring its database');
  const restore = spawn(
    pgRestore.path,
    [
      '--clean',
      '--if-exists',
      '--single-transaction',
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--no-password',
      '-h',
      target.host,
      '-p',
      String(target.port),
      '-U',
      target.user,
      '-d',
      target.database,
    ],
    { env: { ...process.env, PGPASSWORD: target.password, PGCONNECT_TIMEOUT: '10' }, stdio: ['pipe', 'ignore', 'pipe'], signal: ctx.signal },
  );
  let restoreErr = '';
  restore.stderr.on('data', (d: Buffer) => {
    restoreErr = (restoreErr + d.toString()).slice(-4000);
  });
  restore.once('error', () => undefined);
  const restoreExit = new Promise<number | null>((ok) => restore.once('close', (code) => ok(code)));

  const dumpHash = createHash('sha256');
  let dumpBytes = 0;
  let lastProgress = 0;
  const staged: Array<{ tmp: string; dest: string }> = [];
  let manifest: BackupManifest | undefined;
  let streamError: Error | undefined;
  try {
    const entries = extract();
    const body = Readable.fromWeb(res.body as never);
    body.once('error', (err) => entries.destroy(err));
    body.pipe(entries);
    for await (const entry of entries) {
      const name = entry.header.name;
      if (/^database\/keycloak\.dump\.\d{5}$/.test(name)) {
        for await (const chunk of entry) {
          dumpHash.update(chunk as Buffer);
          dumpBytes += (chunk as Buffer).length;
          if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
            lastProgress = Date.now();
            ctx.progress(undefined, 'restoring the database', { bytes: dumpBytes, totalBytes: input.dumpBytes });
          }
          if (!restore.stdin.write(chunk)) await new Promise<void>((ok) => restore.stdin.once('drain', ok));
        }
      } else if (name === 'manifest.json') {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        manifest = backupManifest.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } else if (home && RESTORED_DIRS.some((d) => name.startsWith(d))) {
        const dest = resolve(home, name.slice('keycloak/'.length));
        if (!dest.startsWith(resolve(home) + sep)) throw new Error(`tar entry ${name} leaves the Keycloak home`);
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        // Staged beside its destination and renamed only once the database is back.
        const tmp = `${dest}.kf-restore`;
        await mkdir(dirname(dest), { recursive: true });
        await writeFile(tmp, Buffer.concat(chunks), { mode: entry.header.mode ?? 0o644 });
        staged.push({ tmp, dest });
      } else {
        entry.resume();
      }
    }
  } catch (err) {
    streamError = err as Error;
    restore.stdin.destroy();
  }
  restore.stdin.end();
  const code = await restoreExit;
  const dumpSha = dumpHash.digest('hex');
  const problem = streamError
    ? `reading the backup failed: ${streamError.message}`
    : code !== 0
      ? `pg_restore exited ${code}: ${restoreErr.trim().split('\n').slice(-3).join(' ')}`
      : !manifest
        ? 'the backup has no manifest'
        : dumpSha !== input.dumpSha256 || dumpSha !== manifest.database.sha256
          ? `the dump's sha256 ${dumpSha} is not the manifest's ${manifest.database.sha256}`
          : undefined;
  if (problem) {
    if (installed) throw new TaskFailure('handler_error', `restore of backup ${input.backupId} failed: ${problem}`);
    // One transaction: a pg_restore that failed changed nothing, so the old Keycloak comes back as it was.
    await keycloakStart({}, ctx).catch((err: Error) => ctx.log.error({ err: err.message }, 'cannot start Keycloak again after a failed restore'));
    throw new TaskFailure('handler_error', `restore of backup ${input.backupId} failed (Keycloak started again): ${problem}`);
  }
  ctx.progress(undefined, 'database restored', { bytes: dumpBytes, totalBytes: input.dumpBytes ?? dumpBytes });
  for (const { tmp, dest } of staged) await rename(tmp, dest);
  const restoreMs = Date.now() - stopped;
  ctx.progress(70, `database and ${staged.length} files restored; starting Keycloak`);
  const { instance } = await keycloakStart({}, ctx);
  return { downtimeMs: Date.now() - stopped, restoreMs, files: staged.length, instance };
}
