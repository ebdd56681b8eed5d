import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { z } from 'zod';
import { TarWriter } from '@keyfleet/backup-tar';
import type { taskDefinitions } from '@keyfleet/proto/v1';
import { completeUpload, uploadCiphertext } from './upload-target.js';

const run = promisify(execFile);
const EXPORT_TIMEOUT_MS = 30 * 60_000;

type ExportRequest = NonNullable<z.output<(typeof taskDefinitions)['backup.drill']['input']>['export']>;

export interface RealmExportOptions {
  /** The built scratch home; its Keycloak is stopped (export runs Keycloak in its own mode). */
  home: string;
  javaHome: string;
  db: { url: string; username: string; password: string };
  request: ExportRequest;
  hubUrl: string;
  /** A 0700 directory of the state dir: the plaintext export lives there only while it is packed. */
  workDir: string;
  signal: AbortSignal;
}

export interface RealmExported {
  sizeBytes: number;
  sha256: string;
  realms: string[];
}

/**
 * The drill's byproduct: `kc.sh export` of every realm with its users from the scratch database,
 * packed as `realms/*.json` into a tar, encrypted with age to the fleet's recipients and written
 * to the one object of its single-use upload target (client secrets and password hashes are in
 * it, so it is never stored in clear). The plaintext files are removed whatever happened.
 */
export async function realmExport(opts: RealmExportOptions): Promise<RealmExported> {
  const { Encrypter } = await import('age-encryption');
  const dir = await mkdtemp(join(opts.workDir, '.realm-export-'));
  try {
    const out = join(dir, 'realms');
    await run(join(opts.home, 'bin', 'kc.sh'), ['export', `--dir=${out}`, '--users=different_files', '--users-per-file=1000', '--optimized'], {
      cwd: opts.home,
      // In the environment, never argv: the database password stays out of `ps`.
      env: {
        PATH: process.env.PATH,
        LANG: 'C.UTF-8',
        JAVA_HOME: opts.javaHome,
        KC_DB_URL: opts.db.url,
        KC_DB_USERNAME: opts.db.username,
        KC_DB_PASSWORD: opts.db.password,
        KC_CACHE: 'local',
      },
      signal: opts.signal,
      timeout: EXPORT_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      const tail = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
      throw new Error(`kc.sh export failed: ${tail || err.message}`);
    });
    const names = (await readdir(out)).sort();
    const realms: string[] = [];
    for (const name of names.filter((n) => n.endsWith('-realm.json'))) {
      realms.push((JSON.parse(await readFile(join(out, name), 'utf8')) as { realm: string }).realm);
    }
    if (realms.length === 0) throw new Error('kc.sh export wrote no realm');

    const tar = new TarWriter();
    const encrypter = new Encrypter();
    for (const r of opts.request.recipients) encrypter.addRecipient(r);
    const abort = new AbortController();
    const onAbort = () => abort.abort(opts.signal.reason);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const uploading = uploadCiphertext(await encrypter.encrypt(tar.stream()), opts.request.upload, opts.hubUrl, abort.signal);
      // A failed upload must stop the writer too, or it would wait forever for a reader.
      uploading.catch(() => tar.pack.destroy());
      const writing = (async () => {
        for (const name of names) {
          const file = join(out, name);
          await tar.addFile(`realms/${name}`, file, (await stat(file)).size, 0o600);
        }
        tar.finish();
      })();
      writing.catch(() => abort.abort());
      const [, uploaded] = await Promise.all([writing, uploading]);
      await completeUpload(opts.request.upload, opts.hubUrl, { ...uploaded, realms }, opts.signal);
      return { sizeBytes: uploaded.size, sha256: uploaded.sha256, realms };
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
