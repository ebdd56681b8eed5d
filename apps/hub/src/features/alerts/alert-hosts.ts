import { sql } from 'kysely';
import type { AlertsDb } from './alerts-tables.js';

/** The core's rule for offline, so the alert and the host status agree. */
const MISSED_HEARTBEATS = 3;

/** A host as rules see it: its labels for selectors, and whether its heartbeats stopped. */
export interface AlertHost {
  id: string;
  hostname: string;
  labels: Record<string, string>;
  offline: boolean;
}

/** Every enrolled host, offline when 3 heartbeats are overdue (a host still pending never is). */
export async function alertHosts(db: AlertsDb): Promise<AlertHost[]> {
  const rows = await db
    .selectFrom('hosts')
    .select(['id', 'hostname', 'labels', 'status'])
    .select(
      sql<boolean>`coalesce(last_heartbeat_at, last_hello_at, enrolled_at) < now() - ${MISSED_HEARTBEATS} * heartbeat_interval_ms * interval '1 millisecond'`.as(
        'overdue',
      ),
    )
    .execute();
  return rows.map((h) => ({ id: h.id, hostname: h.hostname, labels: h.labels, offline: h.status !== 'pending' && h.overdue }));
}
