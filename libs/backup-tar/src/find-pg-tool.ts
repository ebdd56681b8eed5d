import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PgToolSearch {
  found?: { path: string; version: string };
  /** Every candidate that ran, with its version: what an error names when none is new enough. */
  seen: string[];
}

/**
 * A Postgres client tool (`pg_dump`, `pg_restore`, `psql`) whose major version is at least
 * `minMajor` (pg_dump refuses newer servers, pg_restore newer archives): KEYFLEET_PG_BIN_DIR
 * first, then the newest /usr/lib/postgresql/<n>/bin, then PATH. The agent and the hub look the
 * same way; each says in its own terms what is missing.
 */
export async function findPgTool(name: string, minMajor: number): Promise<PgToolSearch> {
  const candidates: string[] = [];
  if (process.env.KEYFLEET_PG_BIN_DIR) candidates.push(join(process.env.KEYFLEET_PG_BIN_DIR, name));
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const major of readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a))) {
      candidates.push(join(root, major, 'bin', name));
    }
  }
  candidates.push(name);
  const seen: string[] = [];
  for (const path of candidates) {
    if (path.includes('/') && !existsSync(path)) continue;
    const version = await run(path, ['--version']).then(
      (r) => /(\d+)(\.\d+)*/.exec(r.stdout)?.[0],
      () => undefined,
    );
    if (!version) continue;
    seen.push(`${path} ${version}`);
    if (Number(version.split('.')[0]) >= minMajor) return { found: { path, version }, seen };
  }
  return { seen };
}
