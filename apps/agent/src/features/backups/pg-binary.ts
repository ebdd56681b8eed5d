import { findPgTool } from '@keyfleet/backup-tar';
import { TaskFailure } from '../../task-failure.js';

/** A Postgres client tool on this host of at least `minMajor` (see findPgTool for where it looks). */
export async function pgBinary(name: 'pg_dump' | 'pg_restore' | 'psql', minMajor: number): Promise<{ path: string; version: string }> {
  const { found, seen } = await findPgTool(name, minMajor);
  if (found) return found;
  throw new TaskFailure(
    'invalid_input',
    `no ${name} for Postgres ${minMajor} or newer on this host (${seen.length ? `found ${seen.join(', ')}` : 'none found'}); install the Postgres ${minMajor} client tools or set KEYFLEET_PG_BIN_DIR`,
  );
}
