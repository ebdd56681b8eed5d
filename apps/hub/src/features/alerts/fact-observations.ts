import type { AlertHost } from './alert-hosts.js';
import type { AlertCondition } from './alert-rule.js';
import type { AlertsDb } from './alerts-tables.js';
import type { Observation } from './evaluate-rule.js';

/** Conditions on what the hub knows of a host rather than on its metric samples: evaluated on every tick. */
export type FactCondition = Extract<AlertCondition, { kind: 'host-offline' }>;
export type MetricCondition = Exclude<AlertCondition, FactCondition>;

export const isFactCondition = (c: AlertCondition): c is FactCondition => c.kind === 'host-offline';

/**
 * What a fact condition observes on each of `hosts`, by host id. A host missing from the map
 * (or with an empty list) has nothing to alert on, so its open alerts of the rule resolve.
 */
export async function factObservations(_db: AlertsDb, condition: FactCondition, hosts: AlertHost[]): Promise<Map<string, Observation[]>> {
  const out = new Map<string, Observation[]>();
  if (condition.kind === 'host-offline') {
    for (const h of hosts) out.set(h.id, [{ labels: {}, value: h.offline ? 1 : 0, active: h.offline }]);
  }
  return out;
}
