import { sql } from 'kysely';
import { alertHosts } from './alert-hosts.js';
import { type AlertRule, selectsHost } from './alert-rule.js';
import type { AlertsDb } from './alerts-tables.js';
import { describeObservation } from './describe-observation.js';
import { evaluateCondition } from './evaluate-rule.js';
import { factObservations, isFactCondition } from './fact-observations.js';
import { sampleBefore } from './sample-before.js';

/** A sample older than this is not the host's current data. */
const SAMPLE_MAX_AGE_SEC = 3600;

export interface RuleTestHost {
  hostId: string;
  hostname: string;
  /** Whether the rule breaches on this host now (with a `for`, it fires once the breach has held that long). */
  wouldFire: boolean;
  observations: Array<{ labels: Record<string, string>; value: number; active: boolean; reason: string }>;
  /** Why nothing was observed (no recent sample, no earlier sample for a rate). */
  note?: string;
}

/**
 * Evaluates a rule against the fleet's current data, as the evaluator would, without storing an
 * alert or notifying: metric rules on each host's newest sample of the last hour (rates from the
 * sample a window before it), fact rules on what the hub knows now. `hostIds` narrows the hosts.
 */
export async function testRule(db: AlertsDb, rule: AlertRule, hostIds?: ReadonlySet<string>): Promise<RuleTestHost[]> {
  const hosts = (await alertHosts(db)).filter((h) => selectsHost(rule, h) && (!hostIds || hostIds.has(h.id)));
  const { condition } = rule;
  const result = (host: (typeof hosts)[number], observations: ReturnType<typeof evaluateCondition>, note?: string): RuleTestHost => ({
    hostId: host.id,
    hostname: host.hostname,
    wouldFire: (observations ?? []).some((o) => o.active),
    observations: (observations ?? []).map((o) => ({ ...o, reason: describeObservation(condition, o) })),
    ...(note ? { note } : {}),
  });

  if (isFactCondition(condition)) {
    const observed = await factObservations(db, condition, hosts);
    return hosts.map((h) => result(h, observed.get(h.id) ?? [], observed.get(h.id)?.length ? undefined : `nothing to observe for ${condition.kind}`));
  }
  const newest = await sql<{ host_id: string; at: Date; series: Record<string, number> }>`
    SELECT DISTINCT ON (host_id) host_id, at, series FROM host_metrics
     WHERE step_sec = 0 AND at > now() - ${SAMPLE_MAX_AGE_SEC} * interval '1 second'
     ORDER BY host_id, at DESC`.execute(db);
  const samples = new Map(newest.rows.map((r) => [r.host_id, r]));
  const out: RuleTestHost[] = [];
  for (const h of hosts) {
    const sample = samples.get(h.id);
    if (!sample) {
      out.push(result(h, [], 'no metric sample in the last hour'));
      continue;
    }
    const before = condition.kind === 'rate-ratio' ? await sampleBefore(db, h.id, new Date(sample.at), condition.window) : undefined;
    const observations = evaluateCondition(condition, sample.series, before);
    if (!observations)
      out.push(result(h, [], `no earlier sample within the ${condition.kind === 'rate-ratio' ? condition.window : 0}s window: a rate needs two`));
    else out.push(result(h, observations, observations.length ? undefined : 'the sample has none of the rule’s metrics'));
  }
  return out;
}
