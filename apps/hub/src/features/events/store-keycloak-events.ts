import type { KeycloakEvent } from '@keyfleet/proto/v1';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../store/database.js';
import { eventsDb } from './events-tables.js';

/**
 * Stores a host's Keycloak events in one statement and returns how many were new: an event
 * already stored (same host, same Keycloak event id) is skipped, and nothing is stored for a host
 * the hub does not (or no longer) know.
 */
export async function storeKeycloakEvents(coreDb: Kysely<Database>, hostId: string, events: readonly KeycloakEvent[]): Promise<number> {
  const rows = events.map((e) => ({
    host_id: hostId,
    event_id: e.id,
    source: e.source,
    realm: e.realm,
    at: e.at,
    type: e.type,
    actor: e.actor ?? null,
    client_id: e.clientId ?? null,
    ip: e.ip ?? null,
    error: e.error ?? null,
    resource: e.resource ?? null,
    details: e.details ?? null,
  }));
  const res = await sql`
    INSERT INTO keycloak_events (host_id, event_id, source, realm, at, type, actor, client_id, ip, error, resource, details)
    SELECT r.host_id, r.event_id, r.source, r.realm, r.at, r.type, r.actor, r.client_id, r.ip, r.error, r.resource, r.details
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(host_id text, event_id text, source text, realm text,
           at timestamptz, type text, actor text, client_id text, ip text, error text, resource text, details jsonb)
      JOIN hosts h ON h.id = r.host_id
    ON CONFLICT DO NOTHING`.execute(eventsDb(coreDb));
  return Number(res.numAffectedRows ?? 0);
}
