import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackupManifest } from '@keyfleet/proto/v1';
import { keycloakBuild, loadInstance } from '../keycloak/index.js';

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
 * was built with others. Its own directory under the state dir, kept for the next drill; the
 * running Keycloak's home and data are never touched. A host without that version says so.
 */
export async function drillKeycloakHome(stateDir: string, keycloak: BackupManifest['keycloak'], signal: AbortSignal): Promise<DrillKeycloakHome> {
  const record = await loadInstance(stateDir);
  if (!record?.process || record.version !== keycloak.version) {
    throw new Error(
      `this drill host has no Keycloak ${keycloak.version} distribution (${record ? `it runs ${record.version} with the ${record.runtime} runtime` : 'no Keycloak installed'}): install Keycloak ${keycloak.version} with the process runtime on it`,
    );
  }
  const key = createHash('sha256')
    .update(`${keycloak.version}\n${keycloak.buildOptions.join('\n')}`)
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
    if (keycloakBuild(record.config).args.join('\n') !== keycloak.buildOptions.join('\n')) {
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

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
