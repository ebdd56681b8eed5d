import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { smallTmpfs } from '@keyfleet/test-harness';
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

  it('storage that fills up mid-upload (a real 1 MiB tmpfs): a clear "full" error and no partial object left', async () => {
    const fs = await smallTmpfs(1024 * 1024);
    try {
      const storage = new LocalDirStorage(fs.dir);
      const chunks = Array.from({ length: 8 }, () => Buffer.alloc(256 * 1024, 7));
      await expect(storage.writePartial('h_1/bk_3.tar.age', Readable.from(chunks))).rejects.toThrow(`backup storage ${fs.dir} is full (ENOSPC)`);
      expect(await readdir(join(fs.dir, 'h_1'))).toEqual([]);
      // The space is given back: a backup that fits is stored right after.
      const small = Buffer.alloc(100_000, 1);
      expect((await storage.writePartial('h_1/bk_4.tar.age', Readable.from([small]))).size).toBe(small.length);
    } finally {
      await fs.close();
    }
  });
});
