import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { LogLine } from '@keyfleet/proto/v1';
import { logLevelOf } from './log-level-of.js';
import type { LogOffset, LogOffsets } from './log-offsets.js';
import { redactSecrets } from './redact-secrets.js';

export interface ShippedFile {
  path: string;
  source: LogLine['source'];
}

export interface LogShipperOptions {
  files: readonly ShippedFile[];
  offsets: LogOffsets;
  /** Sends one batch; resolves once the hub acknowledged it, rejects otherwise. */
  send: (lines: LogLine[], dropped: number) => Promise<void>;
  /** Lines held in memory at most; more are dropped and counted. */
  maxQueue?: number;
  batchLines?: number;
  /** Bytes read from one file per pass, so a huge backlog costs passes, not memory. */
  readBytes?: number;
  /** A file met for the first time is shipped from this many bytes before its end. */
  firstTailBytes?: number;
}

interface Tracked extends ShippedFile {
  ino: number;
  generation: number;
  /** The byte after the last line read (queued or dropped). */
  readPos: number;
}

interface Queued {
  file: Tracked;
  ino: number;
  generation: number;
  end: number;
  line: LogLine;
}

const MAX_LINE = 8000;
const NL = 0x0a;

/**
 * Tails log files into a bounded queue and sends it to the hub in acknowledged batches. Reading
 * never waits for the hub: when the queue is full, lines are dropped and counted, and the count
 * goes with the next batch. A file's offset is persisted only once the hub acknowledged its
 * lines. A new inode (rotation) or a file shorter than the place reached (truncation) starts the
 * file again from its beginning, under a new stream name so the hub keeps both.
 */
export class LogShipper {
  private readonly tracked = new Map<string, Tracked>();
  private readonly queue: Queued[] = [];
  private dropped = 0;
  private readonly maxQueue: number;
  private readonly batchLines: number;
  private readonly readBytes: number;
  private readonly firstTailBytes: number;

  constructor(private readonly opts: LogShipperOptions) {
    this.maxQueue = opts.maxQueue ?? 5_000;
    this.batchLines = opts.batchLines ?? 500;
    this.readBytes = opts.readBytes ?? 256 * 1024;
    this.firstTailBytes = opts.firstTailBytes ?? 64 * 1024;
  }

  /** Lines dropped and not yet reported to the hub. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Reads what each file gained since the last pass into the queue. */
  async readOnce(now = new Date()): Promise<void> {
    for (const file of this.opts.files) await this.readFile(file, now);
  }

  /** Sends the queue in batches until it is empty or the hub does not acknowledge one. */
  async sendAll(): Promise<void> {
    while (this.queue.length > 0 || this.dropped > 0) {
      const batch = this.queue.slice(0, this.batchLines);
      const dropped = this.dropped;
      await this.opts.send(
        batch.map((q) => q.line),
        dropped,
      );
      this.queue.splice(0, batch.length);
      this.dropped -= dropped;
      const acked = new Map<string, LogOffset>();
      for (const q of batch) acked.set(q.file.path, { ino: q.ino, generation: q.generation, pos: q.end });
      if (acked.size > 0) await this.opts.offsets.set(acked);
    }
  }

  private async readFile(file: ShippedFile, now: Date): Promise<void> {
    const st = await stat(file.path).catch(() => undefined);
    if (!st?.isFile()) return;
    let t = this.tracked.get(file.path);
    if (!t) {
      const saved = this.opts.offsets.get(file.path);
      const resume = saved !== undefined && saved.ino === st.ino && saved.pos <= st.size;
      t = resume
        ? { ...file, ino: st.ino, generation: saved.generation, readPos: saved.pos }
        : { ...file, ino: st.ino, generation: saved?.ino === st.ino ? saved.generation + 1 : 0, readPos: Math.max(0, st.size - this.firstTailBytes) };
      // Starting inside the file: the first, partial line is skipped.
      if (!resume && t.readPos > 0) t.readPos = await this.nextLineStart(file.path, t.readPos);
      this.tracked.set(file.path, t);
    } else if (st.ino !== t.ino) {
      Object.assign(t, { ino: st.ino, generation: 0, readPos: 0 });
    } else if (st.size < t.readPos) {
      Object.assign(t, { generation: t.generation + 1, readPos: 0 });
    }
    if (st.size <= t.readPos) return;
    const fh = await open(file.path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(this.readBytes, st.size - t.readPos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, t.readPos);
      const stream = `${basename(file.path)}:${t.ino}:${t.generation}`;
      let start = 0;
      for (;;) {
        let nl = buf.indexOf(NL, start);
        // A line longer than a whole read is cut, so one runaway line cannot stall the file.
        if (nl < 0 || nl >= bytesRead) {
          if (start > 0 || bytesRead < buf.length) break;
          nl = bytesRead;
        }
        const text = buf.toString('utf8', start, nl).replace(/\r$/, '');
        const pos = t.readPos + start;
        start = Math.min(nl + 1, bytesRead);
        this.enqueue({
          file: t,
          ino: t.ino,
          generation: t.generation,
          end: t.readPos + start,
          line: { source: t.source, stream, pos, at: now.toISOString(), level: logLevelOf(text), line: redactSecrets(text).slice(0, MAX_LINE) },
        });
        if (start >= bytesRead) break;
      }
      t.readPos += start;
    } finally {
      await fh.close();
    }
  }

  private enqueue(q: Queued): void {
    if (q.line.line === '') return;
    if (this.queue.length >= this.maxQueue) this.dropped++;
    else this.queue.push(q);
  }

  private async nextLineStart(path: string, from: number): Promise<number> {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(this.readBytes);
      const { bytesRead } = await fh.read(buf, 0, buf.length, from - 1);
      const nl = buf.subarray(0, bytesRead).indexOf(NL);
      return nl < 0 ? from : from - 1 + nl + 1;
    } finally {
      await fh.close();
    }
  }
}
