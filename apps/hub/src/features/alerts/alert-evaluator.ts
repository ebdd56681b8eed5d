import { sql } from 'kysely';
import type { HubService } from '../../hub-feature.js';
import { onMetricSample } from '../metrics/index.js';
import type { AlertRule } from './alert-rule.js';
import { applyObservations } from './alert-lifecycle.js';
import { type AlertsDb, alertsDb } from './alerts-tables.js';
import { BUILTIN_RULES } from './builtin-rules.js';
import { evaluateCondition } from './evaluate-rule.js';
import { queueRepeats } from './queue-repeats.js';

/** How often rules, hosts and host-offline are re-read (KEYFLEET_ALERTS_EVAL_MS, default 5 s). */
const evalMs = () => Number(process.env.KEYFLEET_ALERTS_EVAL_MS) || 5_000;
/** The core's rule for offline, so the alert and the host status agree. */
const MISSED_HEARTBEATS = 3;

type Host = { id: string; hostname: string; labels: Record<string, string>; offline: boolean };

const selects = (rule: AlertRule, host: Host) => Object.entries(rule.selector ?? {}).every(([k, v]) => host.labels[k] === v);

/**
 * Evaluates rules as data arrives: metric rules on every sample this hub ingests, host-offline
 * on every tick against the heartbeat deadline. Every hub runs it; the lifecycle's conditional
 * writes make each transition happen once.
 */
export const alertEvaluator: HubService = {
  name: 'alert-evaluator',
  async start(deps) {
    const db = alertsDb(deps.db);
    const log = deps.log.child({ service: 'alert-evaluator' });
    await seedBuiltins(db);
    let rules: AlertRule[] = [];
    const hosts = new Map<string, Host>();
    const refresh = async () => {
      rules = (await db.selectFrom('alert_rules').select('spec').execute()).map((r) => r.spec).filter((r) => r.enabled);
      const rows = await db
        .selectFrom('hosts')
        .select(['id', 'hostname', 'labels', 'status'])
        .select(
          sql<boolean>`coalesce(last_heartbeat_at, last_hello_at, enrolled_at) < now() - ${MISSED_HEARTBEATS} * heartbeat_interval_ms * interval '1 millisecond'`.as(
            'overdue',
          ),
        )
        .execute();
      hosts.clear();
      for (const h of rows) hosts.set(h.id, { id: h.id, hostname: h.hostname, labels: h.labels, offline: h.status !== 'pending' && h.overdue });
    };
    const channels = async () => (await db.selectFrom('alert_channels').select('name').execute()).map((c) => c.name);

    // One evaluation at a time per host on this hub, in arrival order.
    const chains = new Map<string, Promise<void>>();
    const perHost = (hostId: string, work: () => Promise<void>) => {
      const next = (chains.get(hostId) ?? Promise.resolve())
        .then(work)
        .catch((err: unknown) => log.warn({ err, hostId }, 'alert evaluation failed'))
        .finally(() => {
          if (chains.get(hostId) === next) chains.delete(hostId);
        });
      chains.set(hostId, next);
      return next;
    };

    const tick = async () => {
      await refresh();
      for (const rule of rules) await queueRepeats(db, rule, channels);
      for (const rule of rules) {
        if (rule.condition.kind !== 'host-offline') continue;
        for (const host of hosts.values()) {
          if (!selects(rule, host)) continue;
          await perHost(host.id, () => applyObservations(db, rule, host, [{ labels: {}, value: host.offline ? 1 : 0, active: host.offline }], channels));
        }
      }
    };
    await tick();

    const unsubscribe = onMetricSample((hostId, at, series) => {
      const host = hosts.get(hostId);
      if (!host) return;
      void perHost(hostId, async () => {
        for (const rule of rules) {
          const { condition } = rule;
          if (condition.kind === 'host-offline' || !selects(rule, host)) continue;
          const before = condition.kind === 'rate-ratio' ? await sampleBefore(db, hostId, at, condition.window) : undefined;
          const observations = evaluateCondition(condition, series, before);
          if (observations) await applyObservations(db, rule, host, observations, channels);
        }
      });
    });

    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(tick).catch((err: unknown) => log.warn({ err }, 'alert evaluation tick failed'));
    }, evalMs());
    return {
      async stop() {
        unsubscribe();
        clearInterval(timer);
        await running;
        await Promise.all(chains.values());
      },
    };
  },
};

/** The oldest stored sample within `windowSec` before `at`: the start of a rate. */
async function sampleBefore(db: AlertsDb, hostId: string, at: Date, windowSec: number): Promise<Record<string, number> | undefined> {
  const row = await sql<{ series: Record<string, number> }>`
    SELECT series FROM host_metrics
     WHERE host_id = ${hostId} AND step_sec = 0 AND at >= ${new Date(at.getTime() - windowSec * 1000)} AND at < ${at}
     ORDER BY at LIMIT 1`.execute(db);
  return row.rows[0]?.series;
}

/** Built-in rules are stored on first start; an operator's version of one is never overwritten. */
async function seedBuiltins(db: AlertsDb): Promise<void> {
  for (const rule of BUILTIN_RULES) {
    const inserted = await db
      .insertInto('alert_rules')
      .values({ name: rule.name, version: 1, spec: JSON.stringify(rule), builtin: true, updated_by: 'keyfleet' })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('name')
      .execute();
    if (inserted.length > 0) {
      await db
        .insertInto('alert_rule_versions')
        .values({ name: rule.name, version: 1, spec: JSON.stringify(rule), applied_by: 'keyfleet' })
        .onConflict((oc) => oc.columns(['name', 'version']).doNothing())
        .execute();
    }
  }
}
