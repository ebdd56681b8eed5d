import { sql, type Kysely } from 'kysely';
import type { Heartbeat } from '@keyfleet/proto/v1';
import type { Database, HostStatus } from '../store/database.js';

export interface HeartbeatItem {
  hostId: string;
  heartbeat: Heartbeat;
}

/**
 * Stores a batch of heartbeats in one statement (a fleet of 10,000 hosts at 15 s sends ~670 a
 * second; one UPDATE each kept every pooled connection busy). Returns, per item, the status the
 * host had before, so a host coming back can be served at once; undefined for an unknown host.
 * Rows are locked in id order, as every multi-row write of hosts and tasks is, so two hubs' batches
 * cannot deadlock; with the lock an UPDATE takes anyway (NO KEY UPDATE), not FOR UPDATE, which
 * would make every foreign-key check on a host (a metric sample's insert) wait for it and fail
 * the metrics retention's repeatable-read transaction ("could not serialize access").
 */
export async function writeHeartbeats(db: Kysely<Database>, items: HeartbeatItem[]): Promise<Array<HostStatus | undefined>> {
  const rows = items.map(({ hostId, heartbeat }, n) => {
    const { proto: _proto, msgId: _msgId, kind: _kind, hostId: _hostId, ...health } = heartbeat;
    return { host_id: hostId, health, n };
  });
  // A host twice in one batch (heartbeats faster than a batch): its last heartbeat wins.
  const { rows: updated } = await sql<{ id: string; previous: HostStatus }>`
    WITH beat AS (
      SELECT DISTINCT ON (host_id) host_id, health
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(host_id text, health jsonb, n int)
       ORDER BY host_id, n DESC
    ), prev AS (
      SELECT h.id, h.status FROM hosts h JOIN beat ON beat.host_id = h.id ORDER BY h.id FOR NO KEY UPDATE OF h
    )
    UPDATE hosts h
       SET status = 'online', last_heartbeat_at = now(), last_heartbeat = beat.health
      FROM beat, prev
     WHERE h.id = beat.host_id AND prev.id = h.id
    RETURNING h.id, prev.status AS previous`.execute(db);
  const previous = new Map(updated.map((r) => [r.id, r.previous]));
  return items.map((i) => previous.get(i.hostId));
}
