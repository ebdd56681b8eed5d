import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createDb, type DbHandle } from './create-db.js';

const pgliteVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> })
  .dependencies['@electric-sql/pglite'];

/**
 * initdb in PGlite takes 7-20 s on this machine; restoring a snapshot takes ~2 s.
 * The snapshot of a fresh (unmigrated) cluster is cached in the temp dir per
 * PGlite version and written atomically, so parallel test workers may race safely.
 */
export async function freshClusterSnapshot(): Promise<Blob> {
  const path = join(tmpdir(), `keyfleet-pglite-${pgliteVersion}-initdb.tar`);
  const cached = await readFile(path).catch(() => undefined);
  if (cached) return new Blob([cached]);
  const pglite = await PGlite.create();
  try {
    const snapshot = await pglite.dumpDataDir('none');
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, Buffer.from(await snapshot.arrayBuffer()));
    await rename(partial, path);
    return snapshot;
  } finally {
    await pglite.close();
  }
}

/** An empty embedded database in its own temp dir; `close` also removes the dir. */
export async function createTestDb(): Promise<DbHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-hub-db-'));
  try {
    const handle = await createDb({ dataDir: dir, snapshot: await freshClusterSnapshot() });
    return {
      ...handle,
      async close() {
        await handle.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
