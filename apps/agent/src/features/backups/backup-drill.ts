import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { backupManifest, type BackupManifest, decodeAgeFileKey } from '@keyfleet/proto/v1';
import { extract } from 'tar-stream';
import { identityStore } from '../../identity-store.js';
import type { TaskHandler } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { secretValue } from '../../secret-value.js';
import { databaseFacts } from './database-facts.js';
import { DrillHomeFiles } from './drill-home-files.js';
import { pgBinary } from './pg-binary.js';
import { PROGRESS_EVERY_MS } from './progress-every-ms.js';
import { type KeycloakProof, proveKeycloakBoots } from './prove-keycloak-boots.js';
import { scratchDatabases } from './scratch-databases.js';
import { targetUrl } from './upload-target.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * backup.drill: what "verified" means. The ciphertext is fetched once and streamed through age
 * (authenticated per 64 KiB chunk: one flipped byte stops it), tar and pg_restore into a scratch
 * database; every file and the dump are checked against the manifest, then the restored
 * database's realms, counts and signing key ids; then a scratch Keycloak of the backup's version
 * boots on it and drill clients made in the scratch copy obtain tokens signed with the backed-up
 * keys. The time until then is the measured RTO. The scratch database is dropped at the end.
 * On request, the realms are then exported from the scratch copy, encrypted (the verdict does
 * not depend on it).
 * A backup that does not hold up fails the task as `handler_error`, naming the backup.
 */
export const backupDrill: TaskHandler<'backup.drill'> = async (input, ctx) => {
  // Loaded by the task, not at start: an idle agent never runs pg's or age's code.
  const [{ default: pg }, { Decrypter }] = await Promise.all([import('pg'), import('age-encryption')]);
  const started = Date.now();
  const { identity: agentIdentity } = await identityStore.load(ctx.stateDir);
  const scratchUrl = new URL(input.scratch.url);
  if (input.scratch.password) scratchUrl.password = encodeURIComponent(secretValue(input.scratch.password));
  const scratchDb = `kf_drill_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: scratchUrl.toString(), connectionTimeoutMillis: 10_000 });
  await admin.connect().catch((err: Error) => {
    throw new TaskFailure('invalid_input', `cannot connect to the scratch Postgres ${scratchUrl.host}: ${err.message}`);
  });
  const checks: Check[] = [];
  const fail = (name: string, detail: string) => checks.push({ name, ok: false, detail });
  const pass = (name: string, detail: string) => checks.push({ name, ok: true, detail });
  let restoreMs = 0;
  let rtoMs: number | undefined;
  let keycloak: { version: string; readyMs: number; tokenKids: Record<string, string> } | undefined;
  let exported: KeycloakProof['exported'];
  let homeFiles: DrillHomeFiles | undefined;
  try {
    // Providers and themes of the backup are staged for the scratch Keycloak only when it boots.
    if (input.keycloak !== 'skip') homeFiles = await DrillHomeFiles.create(ctx.stateDir);
    const serverVersion = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    const pgRestore = await pgBinary('pg_restore', Number(serverVersion.split('.')[0]));
    const leftovers = await scratchDatabases.dropLeftovers(ctx.stateDir, scratchUrl.host, async (db) => {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    });
    if (leftovers.length > 0) ctx.log.warn({ server: scratchUrl.host, dropped: leftovers }, 'dropped scratch databases of drills an agent crash interrupted');
    await scratchDatabases.created(ctx.stateDir, scratchUrl.host, scratchDb);
    await admin.query(`CREATE DATABASE ${scratchDb}`);
    const dbUrl = new URL(scratchUrl);
    dbUrl.pathname = `/${scratchDb}`;

    const res = await fetch(targetUrl(input.download.url, agentIdentity.hubUrl), {
      headers: { authorization: `Bearer ${secretValue(input.download.token)}` },
      signal: ctx.signal,
    });
    if (!res.ok || !res.body)
      throw new TaskFailure('invalid_input', `cannot fetch backup ${input.backupId}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    const cipherHash = createHash('sha256');
    let cipherBytes = 0;
    const tapped = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          cipherHash.update(chunk);
          cipherBytes += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );
    const decrypter = new Decrypter();
    const opener = secretValue(input.identity);
    // An identity the operator gave for this call reaches this host only as the backup's file key.
    const fileKey = decodeAgeFileKey(opener);
    // The secret may be a whole key file as age-keygen writes it: comments, then the identity.
    const identities = opener
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (identities.length === 0 && !fileKey)
      throw new TaskFailure('invalid_input', `secret ${input.identity.$secret} holds no age identity (AGE-SECRET-KEY-1…)`);
    if (fileKey) decrypter.addIdentity({ unwrapFileKey: () => fileKey });
    for (const id of identities) decrypter.addIdentity(id);

    ctx.progress(5, `fetching backup ${input.backupId}, decrypting it into pg_restore on a scratch database`);
    const restore = spawn(pgRestore.path, ['--no-owner', '--no-privileges', '--exit-on-error', '-d', dbUrl.toString()], {
      stdio: ['pipe', 'ignore', 'pipe'],
      signal: ctx.signal,
    });
    let restoreErr = '';
    restore.stderr.on('data', (d: Buffer) => {
      restoreErr = (restoreErr + d.toString()).slice(-4000);
    });
    restore.once('error', () => undefined);
    const restoreExit = new Promise<number | null>((resolve) => restore.once('close', (code) => resolve(code)));

    const fileHashes = new Map<string, { size: number; sha256: string }>();
    const dumpHash = createHash('sha256');
    let dumpBytes = 0;
    let lastProgress = 0;
    const dumpParts: string[] = [];
    let manifest: BackupManifest | undefined;
    let streamError: string | undefined;
    try {
      const plaintext = Readable.fromWeb((await decrypter.decrypt(tapped)) as never);
      const entries = extract();
      plaintext.once('error', (err) => entries.destroy(err));
      plaintext.pipe(entries);
      for await (const entry of entries) {
        const name = entry.header.name;
        if (/^database\/keycloak\.dump\.\d{5}$/.test(name)) {
          dumpParts.push(name);
          for await (const chunk of entry) {
            dumpHash.update(chunk as Buffer);
            dumpBytes += (chunk as Buffer).length;
            if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
              lastProgress = Date.now();
              ctx.progress(undefined, 'restoring the database on a scratch database', { bytes: dumpBytes, totalBytes: input.dumpBytes });
            }
            if (!restore.stdin.write(chunk)) await drained(restore.stdin);
          }
        } else if (name === 'manifest.json') {
          const text = Buffer.concat(await collect(entry)).toString('utf8');
          const parsed = backupManifest.safeParse(JSON.parse(text));
          if (!parsed.success) throw new Error('manifest.json does not match keyfleet-backup/1');
          manifest = parsed.data;
        } else {
          const h = createHash('sha256');
          let size = 0;
          const hashed = (async function* () {
            for await (const chunk of entry) {
              h.update(chunk as Buffer);
              size += (chunk as Buffer).length;
              yield chunk as Buffer;
            }
          })();
          if (homeFiles && DrillHomeFiles.holds(name)) await homeFiles.write(name, hashed, entry.header.mode ?? 0o644);
          else
            for await (const _chunk of hashed) {
              // hashed, nothing kept
            }
          fileHashes.set(name, { size, sha256: h.digest('hex') });
        }
      }
    } catch (err) {
      streamError = (err as Error).message;
    }
    restore.stdin.end();
    const code = await restoreExit;
    restoreMs = Date.now() - started;
    ctx.progress(undefined, 'database restored on a scratch database', { bytes: dumpBytes, totalBytes: input.dumpBytes ?? dumpBytes });

    const cipherSha = cipherHash.digest('hex');
    if (cipherSha === input.sha256) pass('ciphertext', `${cipherBytes} bytes, sha256 matches the catalog`);
    else fail('ciphertext', `sha256 ${cipherSha} of ${cipherBytes} bytes, the catalog has ${input.sha256}`);
    if (streamError) fail('decrypt', `decrypting or unpacking failed: ${streamError}`);
    else pass('decrypt', 'age decryption and tar unpacking complete');
    if (!manifest) {
      fail('manifest', 'the backup has no manifest.json');
    } else {
      if (manifest.backupId !== input.backupId) fail('manifest', `the manifest is of backup ${manifest.backupId}`);
      const bad = manifest.files.filter((f) => fileHashes.get(f.path)?.sha256 !== f.sha256 || fileHashes.get(f.path)?.size !== f.size);
      const extra = [...fileHashes.keys()].filter((p) => !manifest!.files.some((f) => f.path === p));
      if (bad.length || extra.length)
        fail('files', `mismatch: ${[...bad.map((f) => f.path), ...extra.map((p) => `${p} (not in manifest)`)].slice(0, 10).join(', ')}`);
      else pass('files', `${manifest.files.length} files match their sha256`);
      const dumpSha = dumpHash.digest('hex');
      if (dumpSha === manifest.database.sha256 && dumpBytes === manifest.database.size && dumpParts.join() === manifest.database.parts.join()) {
        pass('dump', `${dumpBytes} bytes in ${dumpParts.length} parts, sha256 matches`);
      } else fail('dump', `${dumpBytes} bytes sha256 ${dumpSha}; the manifest has ${manifest.database.size} bytes sha256 ${manifest.database.sha256}`);
    }
    if (code === 0) pass('restore', `pg_restore into a scratch database in ${(restoreMs / 1000).toFixed(1)}s`);
    else fail('restore', `pg_restore exited ${code}: ${restoreErr.trim().split('\n').slice(-3).join(' ')}`);

    if (manifest && code === 0) {
      const scratch = new pg.Client({ connectionString: dbUrl.toString(), connectionTimeoutMillis: 10_000 });
      await scratch.connect();
      try {
        const facts = await databaseFacts(scratch);
        const problems: string[] = [];
        const kidProblems: string[] = [];
        for (const want of manifest.realms) {
          const got = facts.find((f) => f.realm === want.realm);
          if (!got) {
            problems.push(`realm ${want.realm} missing`);
            continue;
          }
          for (const k of ['users', 'clients', 'groups'] as const) if (got[k] !== want[k]) problems.push(`${want.realm}: ${k} ${got[k]}, manifest ${want[k]}`);
          const missing = want.kids.filter((kid) => !got.storedKids.includes(kid));
          if (missing.length) kidProblems.push(`${want.realm}: kid ${missing.join(', ')} not among the restored keys`);
        }
        if (facts.length !== manifest.realms.length) problems.push(`${facts.length} realms restored, manifest has ${manifest.realms.length}`);
        const users = manifest.realms.reduce((n, r) => n + r.users, 0);
        if (problems.length) fail('counts', problems.slice(0, 10).join('; '));
        else pass('counts', `${manifest.realms.length} realms, ${users} users, clients and groups as in the manifest`);
        if (kidProblems.length) fail('signing-keys', kidProblems.slice(0, 10).join('; '));
        else pass('signing-keys', `${manifest.realms.reduce((n, r) => n + r.kids.length, 0)} key ids restored`);
      } finally {
        await scratch.end().catch(() => undefined);
      }
      // Booting is the slow part: only a database that held up so far is worth it.
      if (checks.every((c) => c.ok) && input.keycloak === 'skip') {
        pass('keycloak', 'not booted: a database-level drill was asked for (keycloak: skip)');
      } else if (checks.every((c) => c.ok)) {
        ctx.progress(55, `database restored and checked in ${(restoreMs / 1000).toFixed(1)}s`);
        const proof = await proveKeycloakBoots({
          stateDir: ctx.stateDir,
          manifest,
          db: {
            url: `jdbc:postgresql://${dbUrl.host}/${scratchDb}`,
            username: decodeURIComponent(dbUrl.username) || 'postgres',
            password: decodeURIComponent(dbUrl.password),
          },
          since: started,
          ...(homeFiles ? { files: homeFiles } : {}),
          ...(input.export ? { export: { request: input.export, hubUrl: agentIdentity.hubUrl } } : {}),
          signal: ctx.signal,
          progress: (percent, message) => ctx.progress(percent, message),
        });
        checks.push(...proof.checks);
        exported = proof.exported;
        if (proof.checks.every((c) => c.ok)) {
          rtoMs = proof.rtoMs;
          keycloak = { version: manifest.keycloak.version, readyMs: proof.readyMs ?? 0, tokenKids: proof.tokenKids };
        }
      }
    }
  } finally {
    await homeFiles?.remove();
    await admin.query(`DROP DATABASE IF EXISTS ${scratchDb} WITH (FORCE)`).then(
      () => scratchDatabases.dropped(ctx.stateDir, scratchUrl.host, scratchDb),
      (err: Error) => ctx.log.warn({ err: err.message, scratchDb }, 'cannot drop the scratch database; the next drill against this server tries again'),
    );
    await admin.end().catch(() => undefined);
  }

  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    throw new TaskFailure('handler_error', `backup ${input.backupId} FAILED its drill: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
  }
  ctx.log.info({ backupId: input.backupId, restoreMs, rtoMs }, 'backup verified by its drill');
  const exportResult = input.export && {
    exportId: input.export.exportId,
    ...(exported?.ok
      ? { ok: true as const, sizeBytes: exported.sizeBytes, realms: exported.realms }
      : { ok: false as const, error: exported?.error ?? 'not exported: no scratch Keycloak was booted (keycloak: skip)' }),
  };
  if (exportResult && !exportResult.ok) ctx.log.warn({ backupId: input.backupId, error: exportResult.error }, 'the realm export of the drill failed');
  return {
    backupId: input.backupId,
    ok: true,
    restoreMs,
    checks,
    ...(rtoMs === undefined ? {} : { rtoMs }),
    ...(keycloak ? { keycloak } : {}),
    ...(exportResult ? { export: exportResult } : {}),
  };
};

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

async function collect(entry: AsyncIterable<unknown>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of entry) out.push(chunk as Buffer);
  return out;
}
