import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectDigest, StreamStorage } from './backup-storage.js';

/** Backups as files in a directory of the hub's machine: the embedded default. */
export class LocalDirStorage implements StreamStorage {
  readonly kind = 'local' as const;
  readonly uploadMode = 'stream' as const;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    const path = resolve(this.root, key);
    // Keys are made by the hub, but a key must never name a file outside the directory.
    if (!path.startsWith(this.root + sep)) throw new Error(`backup key ${key} leaves the storage directory`);
    return path;
  }

  async writePartial(key: string, body: Readable): Promise<ObjectDigest> {
    const partial = `${this.path(key)}.partial`;
    await mkdir(dirname(partial), { recursive: true, mode: 0o700 });
    const hash = createHash('sha256');
    let size = 0;
    const tap = new PassThrough();
    tap.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    try {
      // `wx`: a partial object is never appended to or overwritten by a second writer.
      await pipeline(body, tap, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      await rm(partial, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') throw new Error(`backup storage ${this.root} is full (ENOSPC)`, { cause: err });
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') throw new Error(`backup storage ${this.root} is not writable (${code})`, { cause: err });
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async commit(key: string): Promise<void> {
    await rename(`${this.path(key)}.partial`, this.path(key));
  }

  async read(key: string): Promise<Readable> {
    const stream = createReadStream(this.path(key));
    // Surfaces ENOENT here rather than on the first read.
    await new Promise<void>((ok, fail) => stream.once('open', () => ok()).once('error', fail));
    return stream;
  }

  async digest(key: string): Promise<ObjectDigest> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await this.read(key)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
    await rm(`${this.path(key)}.partial`, { force: true });
  }
}

export const localBackupKey = (hostId: string, backupId: string) => join(hostId, `${backupId}.tar.age`);
