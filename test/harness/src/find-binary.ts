import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Finds an executable: an explicit env var first (the binary itself, or a directory
 * holding it), then well-known places, then PATH.
 * Throws with install instructions so a missing dependency fails loudly, never skips.
 */
export function findBinary(name: string, envVar: string, extraDirs: string[], hint: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!statSync(fromEnv, { throwIfNoEntry: false })?.isDirectory()) return fromEnv;
    const candidate = join(fromEnv, name);
    if (isExecutable(candidate)) return candidate;
    throw new Error(`${name} not found in ${envVar}=${fromEnv}`);
  }
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(delimiter)];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(`${name} not found (set ${envVar} or install it: ${hint})`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const goBinDir = join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin');
