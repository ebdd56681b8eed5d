import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseSecretKey } from './parse-secret-key.js';

export interface LoadedSecretKey {
  key: Buffer;
  /** True when this call generated the key and wrote the file. */
  created: boolean;
}

/**
 * Reads the hub secret key from `path`, or generates one and writes it there
 * (mode 0600) when the file does not exist. The file appears complete or not at
 * all (written aside, then hard-linked into place), so hubs starting at the same
 * time agree on one key.
 */
export async function loadSecretKey(path: string): Promise<LoadedSecretKey> {
  const existing = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new Error(`cannot read the hub secret key file ${path}: ${err.message}`, { cause: err });
  });
  if (existing !== undefined) return { key: parseSecretKey(existing, `the hub secret key file ${path}`), created: false };

  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(aside, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(aside, path);
    return { key, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadSecretKey(path);
    throw new Error(`cannot write the hub secret key file ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(aside, { force: true });
  }
}
