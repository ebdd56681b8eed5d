import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretKey } from './load-secret-key.js';

describe('loadSecretKey', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-secret-key-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a 0600 key file once, then reads the same key back', async () => {
    const path = join(dir, 'state', 'secret.key');
    const first = await loadSecretKey(path);
    expect(first.created).toBe(true);
    expect(first.key).toHaveLength(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64').equals(first.key)).toBe(true);
    const again = await loadSecretKey(path);
    expect(again).toEqual({ key: first.key, created: false });
  });

  it('gives every concurrent first start the same key', async () => {
    const path = join(dir, 'race', 'secret.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSecretKey(path)));
    expect(keys.filter((k) => k.created)).toHaveLength(1);
    expect(new Set(keys.map((k) => k.key.toString('hex'))).size).toBe(1);
  });

  it('refuses a key file that does not hold a key, naming the file', async () => {
    const path = join(dir, 'bad.key');
    await writeFile(path, 'short\n');
    await expect(loadSecretKey(path)).rejects.toThrow(`the hub secret key file ${path} must be 32 random bytes`);
  });
});
