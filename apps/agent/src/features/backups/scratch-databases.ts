import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../write-file-atomic.js';

/** A scratch database a drill created and has not dropped yet. */
interface Entry {
  /** host:port of the scratch Postgres (never its credentials: the next drill brings them). */
  server: string;
  name: string;
  /** Which run of the agent created it: one of an earlier run outlived its drill. */
  run: string;
}

/** This run of the agent; drills of other runs are over. */
const RUN = randomBytes(8).toString('hex');
const NAME = /^kf_drill_[0-9a-f]{12}$/;
const listPath = (stateDir: string) => join(stateDir, 'backups', 'scratch-databases.json');
// Drills run concurrently; their updates of the one list must not interleave.
let updates: Promise<unknown> = Promise.resolve();

async function read(stateDir: string): Promise<Entry[]> {
  const text = await readFile(listPath(stateDir), 'utf8').catch(() => '[]');
  try {
    const entries = JSON.parse(text) as Entry[];
    return Array.isArray(entries) ? entries.filter((e) => typeof e?.server === 'string' && NAME.test(e.name) && typeof e.run === 'string') : [];
  } catch {
    return [];
  }
}

function update<T>(stateDir: string, change: (entries: Entry[]) => Promise<{ entries: Entry[]; result: T }>): Promise<T> {
  const next = updates.then(async () => {
    const { entries, result } = await change(await read(stateDir));
    await mkdir(dirname(listPath(stateDir)), { recursive: true, mode: 0o700 });
    await writeFileAtomic(listPath(stateDir), JSON.stringify(entries));
    return result;
  });
  updates = next.catch(() => undefined);
  return next;
}

const same = (a: Omit<Entry, 'run'>) => (b: Entry) => a.server === b.server && a.name === b.name;

/**
 * The scratch databases restore drills create on a scratch Postgres: a full copy of a production
 * database each. A drill drops its own at the end; when the agent dies mid-drill, the name stays
 * listed here (no credentials: this host holds none for the scratch Postgres between drills) and
 * the next drill against the same server drops it.
 */
export const scratchDatabases = {
  path: listPath,

  /** Before the database is created: a crash from then on leaves it listed. */
  created(stateDir: string, server: string, name: string): Promise<void> {
    return update(stateDir, async (entries) => ({ entries: [...entries, { server, name, run: RUN }], result: undefined }));
  },

  /** Once its drop succeeded. */
  dropped(stateDir: string, server: string, name: string): Promise<void> {
    return update(stateDir, async (entries) => ({ entries: entries.filter((e) => !same({ server, name })(e)), result: undefined }));
  },

  /**
   * Drops the scratch databases on `server` that drills of an earlier run of the agent left
   * behind (drills of this run may still use theirs); resolves with their names. One that cannot
   * be dropped stays listed for the next drill.
   */
  dropLeftovers(stateDir: string, server: string, drop: (name: string) => Promise<void>): Promise<string[]> {
    return update(stateDir, async (entries) => {
      const gone: string[] = [];
      for (const e of entries) {
        if (e.server !== server || e.run === RUN) continue;
        if (
          await drop(e.name).then(
            () => true,
            () => false,
          )
        )
          gone.push(e.name);
      }
      return { entries: entries.filter((e) => !(e.server === server && gone.includes(e.name))), result: gone };
    });
  },
};
