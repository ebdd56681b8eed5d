import { createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { TaskFailure } from '../../../../task-failure.js';
import { runCommand } from './run-command.js';

export interface PrepareDistOptions {
  distUrl: string;
  version: string;
  /** `kc.sh build` arguments and their key (see keycloakBuild). */
  build: string[];
  buildKey: string;
  /** Holds one directory per version + build (+ slot), and the download cache. */
  installRoot: string;
  /** Gives the dist its own directory per slot, so the same version and build can run twice during an update. */
  slot?: 'a' | 'b';
  /** What the dist's data/ links to: the dev-file database and transaction logs live there. */
  dataDir: string;
  javaHome: string;
  signal: AbortSignal;
  note(step: string): void;
}

const BUILT_MARKER = '.keyfleet-built';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

const tail = (text: string, lines = 25) => text.trim().split('\n').slice(-lines).join('\n');

async function tarball(opts: PrepareDistOptions): Promise<string> {
  const { distUrl } = opts;
  if (distUrl.startsWith('file://')) return fileURLToPath(distUrl);
  if (!/^https?:\/\//.test(distUrl)) return distUrl;
  const downloads = join(opts.installRoot, 'downloads');
  const file = join(downloads, `keycloak-${opts.version}.tar.gz`);
  if (await exists(file)) return file;
  await mkdir(downloads, { recursive: true, mode: 0o700 });
  opts.note(`downloading ${distUrl}`);
  const res = await fetch(distUrl, { signal: opts.signal });
  if (!res.ok || !res.body) throw new Error(`downloading ${distUrl} failed: HTTP ${res.status}`);
  const part = `${file}.part`;
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(part, { mode: 0o600 }), { signal: opts.signal });
  await rename(part, file);
  return file;
}

/**
 * The Keycloak distribution for a version and build options, extracted and `kc.sh build`-ed
 * into its own directory (so starts use --optimized and an update never touches the running
 * one). Reused when already there. Returns the directory.
 */
export async function prepareDist(opts: PrepareDistOptions): Promise<string> {
  const dir = join(opts.installRoot, `${opts.version}-${opts.buildKey}${opts.slot ? `-${opts.slot}` : ''}`);
  if (await exists(join(dir, BUILT_MARKER))) {
    opts.note(`distribution ${opts.version} already built for these options (${dir})`);
    return dir;
  }
  const source = await tarball(opts);
  if (!(await exists(source))) throw new TaskFailure('invalid_input', `distUrl ${opts.distUrl}: ${source} does not exist`);
  await mkdir(opts.installRoot, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(opts.installRoot, '.prepare-'));
  try {
    const untar = await runCommand('tar', ['-xzf', source, '-C', tmp, '--strip-components=1', '--no-same-owner'], { signal: opts.signal });
    if (untar.code !== 0) throw new Error(`extracting ${source} failed (is it a keycloak-<version>.tar.gz?): ${tail(untar.output, 5)}`);
    const found = /Version\s+(\S+)/.exec(await readFile(join(tmp, 'version.txt'), 'utf8').catch(() => ''))?.[1];
    if (!found || !(await exists(join(tmp, 'bin', 'kc.sh'))))
      throw new TaskFailure('invalid_input', `${opts.distUrl} is not a Keycloak server distribution (no bin/kc.sh and version.txt)`);
    if (found !== opts.version) throw new TaskFailure('invalid_input', `${opts.distUrl} holds Keycloak ${found}, but the config asks for ${opts.version}`);
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    await rm(join(tmp, 'data'), { recursive: true, force: true });
    await symlink(opts.dataDir, join(tmp, 'data'));
    opts.note(`kc.sh build ${opts.build.join(' ')}`);
    const built = await runCommand(join(tmp, 'bin', 'kc.sh'), ['build', ...opts.build], {
      env: { PATH: process.env.PATH, JAVA_HOME: opts.javaHome, LANG: 'C.UTF-8' },
      signal: opts.signal,
    });
    if (built.code !== 0) throw new Error(`kc.sh build ${opts.build.join(' ')} failed (exit ${built.code}):\n${tail(built.output)}`);
    await writeFile(join(tmp, BUILT_MARKER), `${opts.build.join(' ')}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
