// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, type DbHandle } from '../store/create-db.js';
import { freshClusterSnapshot } from './fresh-cluster-snapshot.js';

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
