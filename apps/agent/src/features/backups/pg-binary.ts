import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TaskFailure } from '../../task-failure.js';

const run = promisify(execFile);

/**
 * A Postgres client tool (`pg_dump`, `pg_restore`) whose major version is at least `minMajor`
 * (pg_dump refuses newer servers): KEYFLEET_PG_BIN_DIR first, then the newest
 * /usr/lib/postgresql/<n>/bin, then PATH.
 */
export async function pgBinary(name: 'pg_dump' | 'pg_restore' | 'psql', minMajor: number): Promise<{ path: string; version: string }> {
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
    if (Number(version.split('.')[0]) >= minMajor) return { path, version };
  }
  throw new TaskFailure(
    'invalid_input',
    `no ${name} for Postgres ${minMajor} or newer on this host (${seen.length ? `found ${seen.join(', ')}` : 'none found'}); install the Postgres ${minMajor} client tools or set KEYFLEET_PG_BIN_DIR`,
  );
}
