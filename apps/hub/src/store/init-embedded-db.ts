import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

/**
 * Runs PGlite's initdb for a new embedded database in a short-lived node process.
 *
 * In the hub's own process initdb would cost ~350 MB that stays: PGlite boots a second
 * Postgres plus the initdb module to make the cluster, and neither the WebAssembly memory
 * nor what the compilers and the in-memory file system malloc'd is handed back to the OS
 * afterwards (in a worker thread too: ~150 MB stayed in glibc's arenas). A process gives all
 * of it back when it exits; the hub then opens the cluster as on any later start.
 */
export async function initEmbeddedDb(dataDir: string, startParams: string[]): Promise<void> {
  // Absolute, so the child finds PGlite wherever the hub runs from (bundle, sources, tests).
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `
    const [entry, dataDir, params] = process.argv.slice(1);
    require(entry).PGlite.create(dataDir, { startParams: JSON.parse(params) })
      .then((pg) => pg.close())
      .catch((err) => { console.error(err && err.message ? err.message : err); process.exit(1); });`;
  try {
    await promisify(execFile)(process.execPath, ['--liftoff-only', '-e', script, entry, dataDir, JSON.stringify(startParams)], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`initdb of the embedded database in ${dataDir} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}
