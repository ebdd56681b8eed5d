import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackupManifest } from '@keyfleet/proto/v1';
import { keycloakBuild, loadInstance } from '../keycloak/index.js';
import type { DrillHomeFiles } from './drill-home-files.js';

const run = promisify(execFile);
const BUILT_MARKER = '.keyfleet-drill-built';

export interface DrillKeycloakHome {
  /** A built Keycloak home of the backup's version and build options, for scratch Keycloaks only. */
  home: string;
  javaHome: string;
}

/**
 * The Keycloak a drill boots: a copy of this host's installed distribution (process runtime) of
 * the backup's version, `kc.sh build`-ed with the backup's build options when the installed one
 * was built with others, with the backup's providers and themes in place of the host's own. Its
 * own directory under the state dir, kept for the next drill of the same build; the
 * running Keycloak's home and data are never touched. A host without that version says so.
 */
export async function drillKeycloakHome(
  stateDir: string,
  keycloak: BackupManifest['keycloak'],
  signal: AbortSignal,
  backupFiles?: { files: DrillHomeFiles; key: string },
): Promise<DrillKeycloakHome> {
  const record = await loadInstance(stateDir);
  if (!record?.process || record.version !== keycloak.version) {
    throw new Error(
      `this drill host has no Keycloak ${keycloak.version} distribution (${record ? `it runs ${record.version} with the ${record.runtime} runtime` : 'no Keycloak installed'}): install Keycloak ${keycloak.version} with the process runtime on it`,
    );
  }
  const key = createHash('sha256')
    .update(`${keycloak.version}\n${keycloak.buildOptions.join('\n')}\n${backupFiles ? `backup files:\n${backupFiles.key}` : ''}`)
    .digest('hex')
    .slice(0, 12);
  const root = join(stateDir, 'backups', 'drill-keycloak');
  const name = `${keycloak.version}-${key}`;
  const home = join(root, name);
  const javaHome = record.process.javaHome;
  if (await exists(join(home, BUILT_MARKER))) return { home, javaHome };

  await mkdir(root, { recursive: true, mode: 0o700 });
  // Only the newest drill home is kept: a Keycloak distribution is ~200 MB.
  for (const old of await readdir(root)) await rm(join(root, old), { recursive: true, force: true });
  const tmp = await mkdtemp(join(root, '.prepare-'));
  try {
    await run('cp', ['-a', `${record.process.installDir}/.`, tmp], { signal });
    // The installed data dir is a link to the running Keycloak's data: a scratch one gets its own.
    await rm(join(tmp, 'data'), { recursive: true, force: true });
    // The backup's providers and themes replace this host's own: the scratch Keycloak boots as
    // production did. Providers are part of the build, so any on either side means a build.
    let providersChanged = false;
    if (backupFiles) {
      providersChanged = (await providerFiles(join(tmp, 'providers'))) + (await providerFiles(join(backupFiles.files.dir, 'providers'))) > 0;
      for (const dir of ['providers', 'themes']) {
        await rm(join(tmp, dir), { recursive: true, force: true });
        await mkdir(join(tmp, dir));
        if (await exists(join(backupFiles.files.dir, dir))) await run('cp', ['-a', `${join(backupFiles.files.dir, dir)}/.`, join(tmp, dir)], { signal });
      }
    }
    if (providersChanged || keycloakBuild(record.config).args.join('\n') !== keycloak.buildOptions.join('\n')) {
      await run(join(tmp, 'bin', 'kc.sh'), ['build', ...keycloak.buildOptions], {
        cwd: tmp,
        env: { PATH: process.env.PATH, LANG: 'C.UTF-8', JAVA_HOME: javaHome },
        signal,
        maxBuffer: 16 * 1024 * 1024,
      }).catch((err: Error & { stdout?: string }) => {
        throw new Error(`kc.sh build ${keycloak.buildOptions.join(' ')} failed: ${(err.stdout ?? err.message).trim().split('\n').slice(-5).join('\n')}`);
      });
    }
    await writeFile(join(tmp, BUILT_MARKER), `${keycloak.buildOptions.join(' ')}\n`);
    await rename(tmp, home);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { home, javaHome };
}

/** Provider files in a home's providers/ (the distribution's README does not count). */
async function providerFiles(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return names.filter((n) => /\.jar$/i.test(n)).length;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
