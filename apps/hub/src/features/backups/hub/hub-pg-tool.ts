import { findPgTool } from '@keyfleet/backup-tar';
import { ApiError } from '../../../api/api-error.js';

/**
 * A Postgres client tool on the hub's machine of at least `minMajor`, found as the agent finds
 * its own (findPgTool); 503 when there is none.
 */
export async function hubPgTool(name: 'pg_dump' | 'pg_restore', minMajor: number): Promise<{ path: string; version: string }> {
  const { found, seen } = await findPgTool(name, minMajor);
  if (found) return found;
  throw new ApiError(
    503,
    `no ${name} for Postgres ${minMajor} or newer on the hub's machine (${seen.length ? `found ${seen.join(', ')}` : 'none found'}); install the Postgres ${minMajor} client tools or set KEYFLEET_PG_BIN_DIR`,
  );
}
