import { type Kysely, sql } from 'kysely';
import type { Database } from '../../store/database.js';
import { logsDb } from './logs-tables.js';

/** How long lines are kept (KEYFLEET_LOGS_RETENTION_SEC, default 7 days). */
export const logsRetentionSec = () => Number(process.env.KEYFLEET_LOGS_RETENTION_SEC) || 7 * 86_400;
/** Text kept per host at most (KEYFLEET_LOGS_MAX_BYTES_PER_HOST, default 64 MiB): a chatty host cannot fill the database. */
export const logsMaxBytesPerHost = () => Number(process.env.KEYFLEET_LOGS_MAX_BYTES_PER_HOST) || 64 * 1024 * 1024;

/**
 * Deletes lines older than `keepSec`, then each host's oldest lines beyond `maxBytes` of text.
 * Age deletes go `batch` rows per statement so retention never holds long locks. Idempotent:
 * every hub may run it. Returns how many lines went.
 */
export async function pruneLogs(coreDb: Kysely<Database>, keepSec = logsRetentionSec(), maxBytes = logsMaxBytesPerHost(), batch = 5_000): Promise<number> {
  const db = logsDb(coreDb);
  let deleted = 0;
  for (;;) {
    const res = await sql`
      DELETE FROM host_logs WHERE (host_id, stream, pos) IN (
        SELECT host_id, stream, pos FROM host_logs WHERE at < now() - ${keepSec} * interval '1 second' LIMIT ${batch})`.execute(db);
    const n = Number(res.numAffectedRows ?? 0);
    deleted += n;
    if (n < batch) break;
  }
  // Only hosts over the cap pay for the running sum.
  const res = await sql`
    DELETE FROM host_logs WHERE (host_id, stream, pos) IN (
      SELECT host_id, stream, pos FROM (
        SELECT l.host_id, l.stream, l.pos,
               sum(octet_length(l.line)) OVER (PARTITION BY l.host_id ORDER BY l.at DESC, l.stream DESC, l.pos DESC) AS kept
          FROM host_logs l
         WHERE l.host_id IN (SELECT host_id FROM host_logs GROUP BY host_id HAVING sum(octet_length(line)) > ${maxBytes})
      ) x WHERE x.kept > ${maxBytes})`.execute(db);
  return deleted + Number(res.numAffectedRows ?? 0);
}
