import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findJavaHome } from './keycloak-java-home.js';

const run = promisify(execFile);

/** The Keycloak release the tests run; scripts/fetch-keycloak.sh has the same default. */
export const KEYCLOAK_VERSION = '26.7.4';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const keyfleetCacheDir = process.env.KEYFLEET_CACHE ?? join(homedir(), '.cache', 'keyfleet');

export interface KeycloakDist {
  version: string;
  /** The extracted, pristine distribution (holds bin/kc.sh). Copy it before running: runs write into it. */
  distDir: string;
  /** The downloaded keycloak-quarkus-dist tar.gz, e.g. for a process runtime installing "from a local file". */
  tarball: string;
  javaHome: string;
}

/** Downloads (once, cached in ~/.cache/keyfleet/keycloak) and extracts the Keycloak server distribution. */
export async function ensureKeycloakDist(version = process.env.KEYCLOAK_VERSION ?? KEYCLOAK_VERSION): Promise<KeycloakDist> {
  const javaHome = findJavaHome();
  try {
    const { stdout } = await run('bash', [join(repoRoot, 'scripts', 'fetch-keycloak.sh')], {
      env: { ...process.env, KEYCLOAK_VERSION: version, KEYFLEET_CACHE: keyfleetCacheDir },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 15 * 60_000,
    });
    const distDir = stdout.trim().split('\n').pop()!;
    return { version, distDir, tarball: join(keyfleetCacheDir, 'keycloak', `keycloak-quarkus-dist-${version}.tar.gz`), javaHome };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`fetching Keycloak ${version} failed: ${(e.stderr ?? e.message).trim().slice(-2000)}`);
  }
}
