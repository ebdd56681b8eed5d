// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

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
