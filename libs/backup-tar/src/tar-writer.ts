import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pack, type Pack } from 'tar-stream';

/**
 * A tar stream written entry by entry, each write waiting until the reader took the bytes:
 * the archive never piles up in memory, whatever the reader's pace.
 */
export class TarWriter {
  readonly pack: Pack = pack();

  /** One entry from memory. */
  add(name: string, data: Buffer, mode = 0o600): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry({ name, size: data.length, mode, mtime: new Date() }, data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** A directory entry: unpacking creates it even when it stays empty (a Postgres data dir needs its empty ones). */
  addDirectory(name: string, mode = 0o700): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry({ name, type: 'directory', mode, mtime: new Date() }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** One entry from chunks in memory, written as they are (no copy into one buffer). */
  async addChunks(name: string, chunks: Buffer[], size: number, mode = 0o600): Promise<void> {
    let finished!: () => void;
    let failed!: (err: Error) => void;
    const done = new Promise<void>((ok, fail) => {
      finished = ok;
      failed = fail;
    });
    const sink = this.pack.entry({ name, size, mode, mtime: new Date() }, (err) => (err ? failed(err) : finished()));
    for (const chunk of chunks) if (!sink.write(chunk)) await new Promise<void>((ok) => sink.once('drain', ok));
    sink.end(() => undefined);
    await done;
  }

  /**
   * A stream of unknown length (pg_dump's output) as entries `<prefix>.00000`, `.00001`, … of at
   * least `partBytes` each, cut at the source's chunk boundaries (a tar entry needs its size
   * before its data); concatenated they are the stream. One entry goes through the archive's
   * reader while the next one is read, so the producer keeps writing instead of waiting on its
   * pipe (at most two entries in memory). `onBytes` hears the running total after each chunk.
   */
  async addSplitStream(
    prefix: string,
    source: AsyncIterable<Buffer>,
    partBytes: number,
    onBytes: (total: number) => void = () => undefined,
  ): Promise<{ size: number; sha256: string; parts: string[] }> {
    const hash = createHash('sha256');
    const parts: string[] = [];
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let sending: Promise<void> = Promise.resolve();
    const flush = async () => {
      const name = `${prefix}.${String(parts.length).padStart(5, '0')}`;
      const chunks = pending;
      const bytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      parts.push(name);
      await sending;
      sending = this.addChunks(name, chunks, bytes);
      // Seen by the next flush or the end; marked handled so a failure meanwhile is not "unhandled".
      sending.catch(() => undefined);
    };
    for await (const buf of source) {
      hash.update(buf);
      size += buf.length;
      pending.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes >= partBytes) await flush();
      onBytes(size);
    }
    if (pendingBytes > 0 || parts.length === 0) await flush();
    await sending;
    return { size, sha256: hash.digest('hex'), parts };
  }

  /** One entry streamed from a file of known size; resolves with the sha256 of what was written. */
  async addFile(name: string, source: string, size: number, mode: number): Promise<string> {
    const hash = createHash('sha256');
    let written = 0;
    let finished!: () => void;
    let failed!: (err: Error) => void;
    const done = new Promise<void>((ok, fail) => {
      finished = ok;
      failed = fail;
    });
    const sink = this.pack.entry({ name, size, mode, mtime: new Date() }, (err) => (err ? failed(err) : finished()));
    for await (const chunk of createReadStream(source)) {
      const buf = chunk as Buffer;
      // A file that grew since it was listed would overrun its header: the entry keeps its size.
      const part = buf.subarray(0, Math.max(0, size - written));
      if (part.length === 0) break;
      hash.update(part);
      written += part.length;
      if (!sink.write(part)) await new Promise<void>((ok) => sink.once('drain', ok));
    }
    if (written !== size) throw new Error(`${source} shrank from ${size} to ${written} bytes while being backed up`);
    sink.end(() => undefined);
    await done;
    return hash.digest('hex');
  }

  /**
   * The archive as a web stream, pulled one chunk at a time (age-encryption reads web streams;
   * tar-stream's streamx stream is not a Node stream `Readable.toWeb` accepts).
   */
  stream(): ReadableStream<Uint8Array> {
    const chunks = this.pack[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const { value, done } = await chunks.next();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: () => {
          this.pack.destroy();
        },
      },
      { highWaterMark: 0 },
    );
  }

  finish(): void {
    this.pack.finalize();
  }
}
