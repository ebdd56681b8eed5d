import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalDirStorage } from './local-dir-storage.js';

describe('LocalDirStorage', () => {
  const dirs: string[] = [];
  const newDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'kf-local-storage-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dirs) {
      await chmod(d, 0o700).catch(() => undefined);
      await rm(d, { recursive: true, force: true });
    }
  });

  it('keeps an upload partial until committed, hashes what it wrote and reads it back', async () => {
    const storage = new LocalDirStorage(await newDir());
    const data = Buffer.alloc(300_000, 9);
    const got = await storage.writePartial('h_1/bk_1.tar.age', Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(got).toEqual({ size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    await expect(storage.read('h_1/bk_1.tar.age')).rejects.toThrow(/ENOENT/);
    await storage.commit('h_1/bk_1.tar.age');
    expect(await storage.digest('h_1/bk_1.tar.age')).toEqual(got);
    await storage.remove('h_1/bk_1.tar.age');
    await expect(storage.read('h_1/bk_1.tar.age')).rejects.toThrow(/ENOENT/);
  });

  it('an interrupted upload leaves nothing behind, and a key never leaves the directory', async () => {
    const root = await newDir();
    const storage = new LocalDirStorage(root);
    const broken = new Readable({
      read() {
        this.push(Buffer.alloc(1000));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(storage.writePartial('h_1/bk_2.tar.age', broken)).rejects.toThrow(/connection reset/);
    expect(await readdir(join(root, 'h_1'))).toEqual([]);
    await expect(storage.writePartial('../escape', Readable.from([Buffer.from('x')]))).rejects.toThrow(/leaves the storage directory/);
  });
});
