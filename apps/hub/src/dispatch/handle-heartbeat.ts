import { sql, type Kysely } from 'kysely';
import type { Heartbeat } from '@keyfleet/proto/v1';
import type { Database, HostStatus } from '../store/database.js';
import { MessageRejected } from './message-rejected.js';

/** Stores the heartbeat; returns the status the host had before, so a host coming back can be served at once. */
export async function handleHeartbeat(db: Kysely<Database>, hostId: string, hb: Heartbeat): Promise<HostStatus> {
  const { proto: _proto, msgId: _msgId, kind: _kind, hostId: _hostId, ...health } = hb;
  // The self-join reads the row as it was before this UPDATE.
  const row = await sql<{ previous: HostStatus }>`
    UPDATE hosts h
       SET status = 'online', last_heartbeat_at = now(), last_heartbeat = ${JSON.stringify(health)}::jsonb
      FROM hosts prev
     WHERE h.id = ${hostId} AND prev.id = h.id
    RETURNING prev.status AS previous`.execute(db);
  const previous = row.rows[0]?.previous;
  if (!previous) throw new MessageRejected(`unknown host ${hostId}`);
  return previous;
}
