import { type Kysely, sql } from 'kysely';
import type { Database } from '../../store/database.js';
import { eventsDb } from './events-tables.js';

/** How long Keycloak events are kept (KEYFLEET_EVENTS_RETENTION_SEC, default 90 days). */
export const eventsRetentionSec = () => Number(process.env.KEYFLEET_EVENTS_RETENTION_SEC) || 90 * 86_400;

/**
 * Deletes Keycloak events older than `keepSec`, `batch` rows per statement so retention never holds
 * long locks. Idempotent: every hub may run it.
 */
export async function pruneEvents(coreDb: Kysely<Database>, keepSec = eventsRetentionSec(), batch = 5_000): Promise<number> {
  const db = eventsDb(coreDb);
  let deleted = 0;
  for (;;) {
    const res = await sql`
      DELETE FROM keycloak_events WHERE (host_id, event_id) IN (
        SELECT host_id, event_id FROM keycloak_events WHERE at < now() - ${keepSec} * interval '1 second' LIMIT ${batch})`.execute(db);
    const n = Number(res.numAffectedRows ?? 0);
    deleted += n;
    if (n < batch) return deleted;
  }
}
