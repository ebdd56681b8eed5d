import type { Kysely } from 'kysely';
import { seriesKey } from '@keyfleet/proto/v1';
import type { Database } from '../../store/database.js';
import { factObservations } from '../alerts/fact-observations.js';
import { alertsDb } from '../alerts/alerts-tables.js';

/**
 * The facts the fact-based built-in alert rules read (certificates, the backup catalog, agent
 * versions, hardening drift), as fleet series: a Prometheus scraping /v1/fleet/metrics then alerts on exactly what
 * the hub alerts on (deploy/prometheus/keyfleet-alerts.yml). The hub's own /metrics has backup
 * timestamps and served-certificate expiry, but neither drill results nor version skew, and
 * without the host labels a fleet-wide selector needs. Each fact scales an observation's value
 * to a base unit (seconds, as promtool's lint asks). The conditions' thresholds only decide
 * `active`, which a series does not carry: the Prometheus rules hold their own.
 */
const FACTS = [
  { name: 'kf_cert_expires_in_seconds', condition: { kind: 'certificate-expiry', days: 14 }, scale: 86_400 },
  { name: 'kf_backup_age_seconds', condition: { kind: 'backup-age', of: 'stored', maxAge: 0 }, scale: 3600 },
  { name: 'kf_backup_verified_age_seconds', condition: { kind: 'backup-age', of: 'verified', maxAge: 0 }, scale: 3600 },
  { name: 'kf_backup_drill_failed', condition: { kind: 'backup-drill-failed' }, scale: 1 },
  { name: 'kf_agent_version_behind', condition: { kind: 'agent-version-skew' }, scale: 1 },
  { name: 'kf_hardening_drift', condition: { kind: 'hardening-drift' }, scale: 1 },
] as const;

/** Fact series by host id, keyed like agent samples (`kf_cert_expires_in_seconds{domain="…"}`). */
export async function fleetFacts(db: Kysely<Database>, hosts: { id: string; hostname: string; labels: Record<string, string> }[]) {
  const out = new Map<string, Record<string, number>>();
  // Offline is the host-offline rule's input, which kf_host_up already carries.
  const alertHosts = hosts.map((h) => ({ ...h, offline: false }));
  for (const fact of FACTS) {
    for (const [hostId, observations] of await factObservations(alertsDb(db), fact.condition, alertHosts)) {
      const series = out.get(hostId) ?? {};
      for (const o of observations) series[seriesKey(fact.name, o.labels)] = o.value * fact.scale;
      out.set(hostId, series);
    }
  }
  return out;
}
