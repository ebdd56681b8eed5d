import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
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
import { keycloakDatabase, parseJdbcUrl, type PgTarget } from './keycloak-database.js';
import { restoreInstall } from './restore-install.js';
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
 * the identity; this host never does.
 *
 * A host with only the agent gets Keycloak of the backup's version from `install`. On an external
 * database the backup goes in first and Keycloak is installed on it: its first start is on the
 * restored data (no empty schema built, no second start) and no empty Keycloak ever answers; a
 * failed restore installs nothing. A bundled database exists only once installed, so there the
 * install comes first, and should the restore then fail the new Keycloak is left stopped.
 */
export const backupRestore: TaskHandler<'backup.restore'> = async (input, ctx) => {
  if (await loadInstance(ctx.stateDir)) return verified(input, ctx, await restoreInto(input, ctx, false));
  const config = restoreInstall(input);
  if (config.database.kind === 'external') return restoreThenInstall(input, { ...config, database: config.database }, ctx);
  ctx.progress(2, `no Keycloak on this host: installing Keycloak ${config.version} (${config.runtime} runtime) to restore into`);
  await installForRestore(config, input.backupId, 'empty', ctx);
  ctx.progress(8, `Keycloak ${config.version} installed; restoring backup ${input.backupId} into it`);
  let restored: Restored;
  try {
    restored = await restoreInto(input, ctx, true);
  } catch (err) {
    await keycloakStop({}, ctx).catch((e: Error) => ctx.log.error({ err: e.message }, 'cannot stop the Keycloak installed for a failed restore'));
    throw new TaskFailure(
      err instanceof TaskFailure ? err.code : 'handler_error',
      `${(err as Error).message}; the Keycloak ${input.keycloakVersion} this restore installed is left stopped (it holds none of the backup's data): restore again once the cause is fixed`,
    );
  }
  if (config.verifyLogin) {
    // The login the install skipped (its realm came with the backup): from now on the host's own.
    const record = await installedInstance(ctx.stateDir);
    await saveInstance(ctx.stateDir, { ...record, config: { ...record.config, verifyLogin: config.verifyLogin } });
  }
  return { ...(await verified(input, ctx, restored)), installed: true };
};

type Restored = { downtimeMs: number; restoreMs: number; files: number; instance: z.input<typeof keycloakInstance> };

async function verified(input: RestoreInput, ctx: TaskContext, restored: Restored) {
  const verify = await keycloakVerify({}, ctx);
  ctx.log.info({ backupId: input.backupId, files: restored.files }, 'backup restored');
  return { backupId: input.backupId, ...restored, verify };
}

type ExternalInstall = ReturnType<typeof restoreInstall> & { database: { kind: 'external' } };

/** The disaster case on an external database: the backup into it, then Keycloak installed on it, its home's files put in. */
async function restoreThenInstall(input: RestoreInput, config: ExternalInstall, ctx: TaskContext) {
  const { url, username, password } = config.database;
  const target: PgTarget = { ...parseJdbcUrl(url), user: username, password: secretValue(password) };
  const staging = await mkdtemp(join(ctx.stateDir, 'restore-files-'));
  try {
    const started = Date.now();
    ctx.progress(2, `no Keycloak on this host: restoring backup ${input.backupId} into ${url}, then installing Keycloak ${config.version} on it`);
    const piped = await pipeBackup(input, ctx, target, staging, async () => undefined);
    if (piped.problem) throw new TaskFailure('handler_error', `restore of backup ${input.backupId} failed, nothing was installed: ${piped.problem}`);
    const restoreMs = Date.now() - started;
    ctx.progress(30, `database restored; installing Keycloak ${config.version} (${config.runtime} runtime) on it`);
    const installed = await installForRestore(config, input.backupId, 'restored', ctx);
    // Themes are read when first used; providers need the build a restore does not redo (as onto any other host).
    const home = (await installedInstance(ctx.stateDir)).process?.installDir;
    if (home)
      for (const { tmp, dest } of piped.staged) {
        const into = join(home, relative(staging, dest));
        await mkdir(dirname(into), { recursive: true });
        // Copied: the home may be on another filesystem than the agent's state (/opt/keyfleet under systemd).
        await copyFile(tmp, into);
      }
    ctx.log.info({ backupId: input.backupId, files: piped.staged.length }, 'backup restored onto a new Keycloak');
    return {
      backupId: input.backupId,
      downtimeMs: Date.now() - started,
      restoreMs,
      files: home ? piped.staged.length : 0,
      verify: installed.verify,
      installed: true,
      instance: installed.instance,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Stops Keycloak, replaces its database and files with the backup's and starts it again. */
async function restoreInto(input: RestoreInput, ctx: TaskContext, installed: boolean): Promise<Restored> {
  const record = await installedInstance(ctx.stateDir);
  if (record.version !== input.keycloakVersion) {
    throw new TaskFailure(
      'invalid_input',
      `backup ${input.backupId} is of Keycloak ${input.keycloakVersion}, this host runs ${record.version}: install ${input.keycloakVersion} first (a database is not moved across versions by a restore)`,
    );
  }
  let stopped = 0;
  const { staged, problem } = await pipeBackup(input, ctx, keycloakDatabase(record), record.process?.installDir, async () => {
    stopped = Date.now();
    await keycloakStop({}, ctx);
    ctx.progress(10, 'Keycloak stopped; restoring its database');
  });
  if (problem) {
    if (installed) throw new TaskFailure('handler_error', `restore of backup ${input.backupId} failed: ${problem}`);
    // One transaction: a pg_restore that failed changed nothing, so the old Keycloak comes back as it was.
    await keycloakStart({}, ctx).catch((err: Error) => ctx.log.error({ err: err.message }, 'cannot start Keycloak again after a failed restore'));
    throw new TaskFailure('handler_error', `restore of backup ${input.backupId} failed (Keycloak started again): ${problem}`);
  }
  for (const { tmp, dest } of staged) await rename(tmp, dest);
  const restoreMs = Date.now() - stopped;
  ctx.progress(70, `database and ${staged.length} files restored; starting Keycloak`);
  const { instance } = await keycloakStart({}, ctx);
  return { downtimeMs: Date.now() - stopped, restoreMs, files: staged.length, instance };
}

/**
 * Fetches the backup and pipes its dump into pg_restore (after `beforeRestore`, once the fetch
 * answered), staging the home's files under `home` beside their destinations. Says what went
 * wrong rather than throwing once pg_restore ran: the caller decides what Keycloak does then.
 */
async function pipeBackup(
  input: RestoreInput,
  ctx: TaskContext,
  target: PgTarget,
  home: string | undefined,
  beforeRestore: () => Promise<void>,
): Promise<{ staged: Array<{ tmp: string; dest: string }>; problem?: string }> {
  // Loaded by the task, not at start: an idle agent never runs pg's code.
  const { default: pg } = await import('pg');
  const { identity } = await identityStore.load(ctx.stateDir);
  const client = new pg.Client({ ...target, connectionTimeoutMillis: 10_000 });
  await client.connect().catch((err: Error) => {
    throw new TaskFailure('handler_error', `cannot connect to Keycloak's database: ${err.message}`);
  });
  const serverVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await client.end();
  const pgRestore = await pgBinary('pg_restore', Number(serverVersion.split('.')[0]));

  const res = await fetch(targetUrl(input.source.url, identity.hubUrl), {
    headers: { authorization: `Bearer ${secretValue(input.source.token)}` },
    signal: ctx.signal,
  });
  if (!res.ok || !res.body)
    throw new TaskFailure('invalid_input', `cannot fetch backup ${input.backupId}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);

  await beforeRestore();
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
  if (!problem) ctx.progress(undefined, 'database restored', { bytes: dumpBytes, totalBytes: input.dumpBytes ?? dumpBytes });
  return { staged, ...(problem ? { problem } : {}) };
}
