import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiError } from '../../../api/api-error.js';

const run = promisify(execFile);

/**
 * A Postgres client tool on the hub's machine of at least `minMajor` (pg_dump refuses a newer
 * server, pg_restore a newer archive): KEYFLEET_PG_BIN_DIR, the newest /usr/lib/postgresql/<n>/bin,
 * then PATH, as the agent looks for its own.
 */
export async function hubPgTool(name: 'pg_dump' | 'pg_restore', minMajor: number): Promise<{ path: string; version: string }> {
  const candidates: string[] = [];
  if (process.env.KEYFLEET_PG_BIN_DIR) candidates.push(join(process.env.KEYFLEET_PG_BIN_DIR, name));
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const major of readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a)))
      candidates.push(join(root, major, 'bin', name));
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
  throw new ApiError(
    503,
    `no ${name} for Postgres ${minMajor} or newer on the hub's machine (${seen.length ? `found ${seen.join(', ')}` : 'none found'}); install the Postgres ${minMajor} client tools or set KEYFLEET_PG_BIN_DIR`,
  );
}
