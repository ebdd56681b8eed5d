import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { AlertRule } from './alert-rule.js';
import type { AlertsDb } from './alerts-tables.js';
import { describeObservation } from './describe-observation.js';
import type { Observation } from './evaluate-rule.js';
import { isFactCondition } from './fact-observations.js';
import { queueNotifications } from './queue-notifications.js';

const labelsKey = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** What one alert is about, across evaluations and hubs. */
export const fingerprint = (rule: string, hostId: string, labels: Record<string, string>) => `${rule}|${hostId}|${labelsKey(labels)}`;

function summary(rule: AlertRule, hostname: string, o: Observation): string {
  const what = labelsKey(o.labels);
  // A fact's value alone (days, hours, 1) says little: its description says what it is.
  if (isFactCondition(rule.condition))
    return `${rule.name} on ${hostname}${rule.condition.kind === 'host-offline' ? '' : `: ${describeObservation(rule.condition, o)}`}`;
  return `${rule.name} on ${hostname}${what ? ` (${what})` : ''}: ${Number(o.value.toPrecision(4))}`;
}

/**
 * Applies what an evaluation saw to the stored alerts: a breach opens an alert (pending, or
 * firing at once without `for`), a pending one fires once `for` has passed, and what no longer
 * breaches resolves. Every transition is a conditional write, so with several hubs evaluating
 * the same host it happens once, and its notifications (unique per alert, transition and
 * channel) are queued once. A pending alert that clears resolves without any notification.
 */
export async function applyObservations(
  db: AlertsDb,
  rule: AlertRule,
  host: { id: string; hostname: string },
  observations: Observation[],
  channels: () => Promise<string[]>,
): Promise<void> {
  const now = new Date();
  const active = observations.filter((o) => o.active);
  const open = new Set<string>();
  for (const o of active) {
    const fp = fingerprint(rule.name, host.id, o.labels);
    open.add(fp);
    await sql`
      INSERT INTO alerts (id, rule, host_id, fingerprint, labels, severity, state, value, summary, started_at)
      VALUES (${`alr_${randomBytes(10).toString('hex')}`}, ${rule.name}, ${host.id}, ${fp}, ${JSON.stringify(o.labels)}::jsonb,
              ${rule.severity}, 'pending', ${o.value}, ${summary(rule, host.hostname, o)}, ${now})
      ON CONFLICT (fingerprint) WHERE state IN ('pending', 'firing')
      DO UPDATE SET value = excluded.value, summary = excluded.summary`.execute(db);
    const fired = await db
      .updateTable('alerts')
      .set({ state: 'firing', fired_at: now })
      .where('fingerprint', '=', fp)
      .where('state', '=', 'pending')
      .where('started_at', '<=', new Date(now.getTime() - rule.for * 1000))
      .returning('id')
      .execute();
    for (const f of fired) await queueNotifications(db, f.id, 'firing', rule.channels ?? (await channels()));
  }
  let stale = db
    .updateTable('alerts')
    .set({ state: 'resolved', resolved_at: now })
    .where('rule', '=', rule.name)
    .where('host_id', '=', host.id)
    .where('state', 'in', ['pending', 'firing']);
  if (open.size > 0) stale = stale.where('fingerprint', 'not in', [...open]);
  const resolved = await stale.returning(['id', 'fired_at']).execute();
  for (const r of resolved) if (r.fired_at) await queueNotifications(db, r.id, 'resolved', rule.channels ?? (await channels()));
}
