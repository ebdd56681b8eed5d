import { sql } from 'kysely';
import { AgentArtifacts } from '../agents/agent-artifacts.js';
import { compareVersions } from '../agents/compare-versions.js';
import type { BackupsTables } from '../backups/backups-tables.js';
import { driftedRules } from '../hardening/drifted-rules.js';
import type { TlsTables } from '../tls/certificates-tables.js';
import type { AlertHost } from './alert-hosts.js';
import type { AlertCondition } from './alert-rule.js';
import type { AlertsDb } from './alerts-tables.js';
import type { Observation } from './evaluate-rule.js';

const FACT_KINDS = ['host-offline', 'certificate-expiry', 'backup-age', 'backup-drill-failed', 'agent-version-skew', 'hardening-drift'] as const;

/** Conditions on what the hub knows of a host rather than on its metric samples: evaluated on every tick. */
export type FactCondition = Extract<AlertCondition, { kind: (typeof FACT_KINDS)[number] }>;
export type MetricCondition = Exclude<AlertCondition, FactCondition>;

export const isFactCondition = (c: AlertCondition): c is FactCondition => (FACT_KINDS as readonly string[]).includes(c.kind);

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * What a fact condition observes on each of `hosts`, by host id, read from the other features'
 * own records through what they export (certificates from tls, the catalog from backups, versions
 * from agents). A host missing from the map has nothing to alert on, so its open alerts of the
 * rule resolve. `now` is injectable so tests need not wait for time to pass.
 */
export async function factObservations(
  db: AlertsDb,
  condition: FactCondition,
  hosts: AlertHost[],
  now = new Date(),
  artifacts = AgentArtifacts.fromEnv(),
): Promise<Map<string, Observation[]>> {
  const out = new Map<string, Observation[]>();
  const wanted = new Set(hosts.map((h) => h.id));
  const add = (hostId: string, o: Observation) => {
    if (wanted.has(hostId)) out.set(hostId, [...(out.get(hostId) ?? []), o]);
  };
  switch (condition.kind) {
    case 'host-offline':
      for (const h of hosts) add(h.id, { labels: {}, value: h.offline ? 1 : 0, active: h.offline });
      return out;

    case 'certificate-expiry': {
      // What the host's handshake last showed counts over what was issued: that is what clients see.
      const certs = await db
        .withTables<TlsTables>()
        .selectFrom('certificates')
        .select(['host_id', 'domains', 'not_after', 'served_not_after'])
        .where((eb) => eb.or([eb('not_after', 'is not', null), eb('served_not_after', 'is not', null)]))
        .execute();
      for (const c of certs) {
        const notAfter = new Date((c.served_not_after ?? c.not_after)!);
        const daysLeft = (notAfter.getTime() - now.getTime()) / DAY_MS;
        add(c.host_id, { labels: { domain: c.domains[0] ?? '' }, value: daysLeft, active: daysLeft < condition.days });
      }
      return out;
    }

    case 'backup-age': {
      const newest =
        condition.of === 'verified'
          ? sql`max(verified_at) FILTER (WHERE state = 'verified')`
          : sql`max(finished_at) FILTER (WHERE state IN ('stored', 'verified'))`;
      const rows = await db
        .withTables<BackupsTables>()
        .selectFrom('backups')
        .select(['host_id', sql<Date>`min(started_at)`.as('first_started'), sql<Date | null>`${newest}`.as('newest')])
        .groupBy('host_id')
        .execute();
      // Only hosts whose backups the hub runs: one that never had any is not behind on them. One
      // whose every backup failed is as old as its first attempt.
      for (const r of rows) {
        const since = new Date(r.newest ?? r.first_started);
        const ageHours = (now.getTime() - since.getTime()) / HOUR_MS;
        add(r.host_id, { labels: {}, value: ageHours, active: ageHours * 3600 > condition.maxAge });
      }
      return out;
    }

    case 'backup-drill-failed': {
      const drilled = await db
        .withTables<BackupsTables>()
        .selectFrom('backups')
        .select(['host_id', 'last_drill'])
        .where('last_drill', 'is not', null)
        .execute();
      const newest = new Map<string, { ok: boolean; at: string }>();
      for (const b of drilled) {
        const d = b.last_drill!;
        const seen = newest.get(b.host_id);
        if (!seen || d.at > seen.at) newest.set(b.host_id, d);
      }
      for (const [hostId, d] of newest) add(hostId, { labels: {}, value: d.ok ? 0 : 1, active: !d.ok });
      return out;
    }

    case 'agent-version-skew': {
      const versions = await db.selectFrom('hosts').select(['id', 'agent_version']).where('agent_version', 'is not', null).execute();
      // The version the hub rolls out; without artifacts, the newest one in the fleet.
      const target =
        (await artifacts.wantedVersion()) ??
        versions
          .map((v) => v.agent_version!)
          .sort(compareVersions)
          .at(-1);
      if (!target) return out;
      for (const v of versions) {
        const behind = compareVersions(v.agent_version!, target) < 0;
        add(v.id, { labels: { version: v.agent_version!, wanted: target }, value: behind ? 1 : 0, active: behind });
      }
      return out;
    }

    case 'hardening-drift': {
      for (const d of await driftedRules(db, [...wanted])) add(d.hostId, { labels: { rule: d.rule }, value: 1, active: true });
      return out;
    }
  }
}
