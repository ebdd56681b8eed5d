import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KEYCLOAK_VERSION, keyfleetCacheDir, repoRoot } from './keycloak-dist.js';
import { findJavaHome } from './keycloak-java-home.js';

const run = promisify(execFile);

/**
 * Runs scripts/build-keycloak-image.sh for the given images against an engine and returns the
 * tags it printed. Cached images return at once; a cold build takes minutes (debootstrap and
 * the vfs storage driver), hence the long timeout.
 */
export async function runImageScript(dockerHost: string, images: Array<'keycloak' | 'postgres'>, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    const { stdout } = await run('bash', [join(repoRoot, 'scripts', 'build-keycloak-image.sh'), ...images], {
      env: {
        ...process.env,
        DOCKER_HOST: dockerHost,
        KEYFLEET_CACHE: keyfleetCacheDir,
        KEYCLOAK_VERSION: process.env.KEYCLOAK_VERSION ?? KEYCLOAK_VERSION,
        KEYFLEET_IMAGE_JDK: process.env.KEYFLEET_IMAGE_JDK ?? findJavaHome(),
        ...env,
      },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30 * 60_000,
    });
    return stdout.trim().split('\n').filter(Boolean);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building image(s) ${images.join(', ')} failed: ${(e.stderr ?? e.message).trim().slice(-3000)}`);
  }
}
