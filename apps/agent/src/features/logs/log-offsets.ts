import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../write-file-atomic.js';

/** Where the hub's copy of one log file ends: the file (inode, truncations seen) and the byte after the last stored line. */
export interface LogOffset {
  ino: number;
  generation: number;
  pos: number;
}

/**
 * The acknowledged place in each shipped log file, kept in the state dir so a restarted agent
 * neither sends again what the hub stored nor skips what it did not.
 */
export class LogOffsets {
  private constructor(
    private readonly path: string,
    private readonly offsets: Record<string, LogOffset>,
  ) {}

  static async open(stateDir: string): Promise<LogOffsets> {
    const dir = join(stateDir, 'logs');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'offsets.json');
    let offsets: Record<string, LogOffset> = {};
    try {
      offsets = JSON.parse(await readFile(path, 'utf8')) as Record<string, LogOffset>;
    } catch {
      // Missing or torn: each file starts again near its end; the hub drops lines it already has.
    }
    return new LogOffsets(path, offsets);
  }

  get(file: string): LogOffset | undefined {
    return this.offsets[file];
  }

  async set(changes: ReadonlyMap<string, LogOffset>): Promise<void> {
    for (const [file, offset] of changes) this.offsets[file] = offset;
    await writeFileAtomic(this.path, JSON.stringify(this.offsets));
  }
}
