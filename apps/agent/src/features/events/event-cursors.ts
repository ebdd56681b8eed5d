import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../write-file-atomic.js';

export type EventSource = 'login' | 'admin';

/** Where the agent is in one realm's event list: the newest time the hub stored, and ids seen near it. */
export interface EventCursor {
  /** Epoch ms of the newest event the hub acknowledged. */
  time: number;
  /** Ids of acknowledged events at most the overlap before `time`: read again, they are skipped. */
  ids: string[];
}

type CursorFile = Record<string, Partial<Record<EventSource, EventCursor>>>;

/**
 * The per-realm cursors of the Keycloak event pull, kept in the state dir so a restarted agent
 * neither sends again what the hub stored nor skips what it did not.
 */
export class EventCursors {
  private constructor(
    private readonly path: string,
    private readonly cursors: CursorFile,
  ) {}

  static async open(stateDir: string): Promise<EventCursors> {
    const dir = join(stateDir, 'events');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'keycloak-cursors.json');
    let cursors: CursorFile = {};
    try {
      cursors = JSON.parse(await readFile(path, 'utf8')) as CursorFile;
    } catch (err) {
      // A torn or missing file costs a re-read of the lookback; the hub drops what it already has.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') cursors = {};
    }
    return new EventCursors(path, cursors);
  }

  get(realm: string, source: EventSource): EventCursor | undefined {
    return this.cursors[realm]?.[source];
  }

  async set(realm: string, source: EventSource, cursor: EventCursor): Promise<void> {
    this.cursors[realm] = { ...this.cursors[realm], [source]: cursor };
    await writeFileAtomic(this.path, JSON.stringify(this.cursors));
  }
}
