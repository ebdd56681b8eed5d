import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';

export interface KeycloakEventsTable {
  host_id: string;
  event_id: string;
  source: 'login' | 'admin';
  realm: string;
  at: ColumnType<Date, Date | string, Date | string>;
  type: string;
  actor: string | null;
  client_id: string | null;
  ip: string | null;
  error: string | null;
  resource: string | null;
  details: JSONColumnType<Record<string, string> | null>;
}

export type EventsTables = { keycloak_events: KeycloakEventsTable };

/** The hub's database seen with the events feature's tables. */
export function eventsDb(db: Kysely<Database>): Kysely<Database & EventsTables> {
  return db.withTables<EventsTables>();
}
