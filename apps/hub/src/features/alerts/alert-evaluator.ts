import type { HubService } from '../../hub-feature.js';
import { onMetricSample } from '../metrics/index.js';
import { type AlertHost, alertHosts } from './alert-hosts.js';
import { type AlertRule, selectsHost } from './alert-rule.js';
import { applyObservations } from './alert-lifecycle.js';
import { type AlertsDb, alertsDb } from './alerts-tables.js';
import { BUILTIN_RULES } from './builtin-rules.js';
import { evaluateCondition } from './evaluate-rule.js';
import type { Observation } from './evaluate-rule.js';
import { factObservations, isFactCondition, type MetricCondition } from './fact-observations.js';
import { queueRepeats } from './queue-repeats.js';
import { metricNamesOf } from './metric-names-of.js';
import { samplesBefore } from './samples-before.js';

/** How often rules, hosts and host-offline are re-read (KEYFLEET_ALERTS_EVAL_MS, default 5 s). */
const evalMs = () => Number(process.env.KEYFLEET_ALERTS_EVAL_MS) || 5_000;
/** Rate rules are evaluated on the samples of this long at once: one query a window, not one a sample. */
const RATE_BATCH_MS = 1_000;

/**
 * Evaluates rules as data arrives: threshold rules on every sample this hub ingests, rate rules on
 * the samples of each second together, rules on facts (host-offline against the heartbeat
 * deadline) on every tick. Every hub runs it; the lifecycle's conditional writes make each
 * transition happen once.
 *
 * A quiet fleet costs no write: an evaluation where nothing breaches touches the database only if
 * an alert of that rule is open on the host. Which are open is re-read every tick and kept up to
 * date by this hub's own writes, so an alert another hub opened since the last tick resolves at
 * the first sample after the next one (≤ one tick later than it could).
 */
export const alertEvaluator: HubService = {
  name: 'alert-evaluator',
  async start(deps) {
    const db = alertsDb(deps.db);
    const log = deps.log.child({ service: 'alert-evaluator' });
    await seedBuiltins(db);
    let rules: AlertRule[] = [];
    let hosts = new Map<string, AlertHost>();
    /** `rule|hostId` of every pending or firing alert, as far as this hub knows. */
    let openAlerts = new Set<string>();
    const openKey = (rule: string, hostId: string) => `${rule}|${hostId}`;
    const refresh = async () => {
      rules = (await db.selectFrom('alert_rules').select('spec').execute()).map((r) => r.spec).filter((r) => r.enabled);
      // Swapped whole, not cleared then filled: a sample arriving during the read would find no host and go unevaluated.
      hosts = new Map((await alertHosts(db)).map((h) => [h.id, h]));
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
      // Open alerts are few (the partial index alerts_open holds just them): one read for every rule.
      const open = await db.selectFrom('alerts').select(['rule', 'host_id']).where('state', 'in', ['pending', 'firing']).execute();
      openAlerts = new Set(open.map((a) => openKey(a.rule, a.host_id)));
      for (const rule of rules) {
        if (!isFactCondition(rule.condition)) continue;
        const selected = [...hosts.values()].filter((h) => selectsHost(rule, h));
        const observed = await factObservations(db, rule.condition, selected);
        const withOpen = new Set(open.filter((a) => a.rule === rule.name).map((a) => a.host_id));
        for (const host of selected) {
          const observations = observed.get(host.id) ?? [];
          // Nothing breaching and nothing open to resolve: no write, so a quiet fleet costs one query per rule, not one per host.
          if (!withOpen.has(host.id) && !observations.some((o) => o.active)) continue;
          await perHost(host.id, () => applyObservations(db, rule, host, observations, channels));
        }
      }
    };
    await tick();

    /** Stores what an evaluation saw, unless nothing breaches and nothing is open to resolve. */
    const apply = (rule: AlertRule, host: AlertHost, observations: Observation[]) => {
      const key = openKey(rule.name, host.id);
      const breaching = observations.some((o) => o.active);
      if (!breaching && !openAlerts.has(key)) return;
      void perHost(host.id, async () => {
        await applyObservations(db, rule, host, observations, channels);
        if (breaching) openAlerts.add(key);
        else openAlerts.delete(key);
      });
    };

    let rateQueue: Array<{ host: AlertHost; at: Date; series: Record<string, number> }> = [];
    const unsubscribe = onMetricSample((hostId, at, series) => {
      const host = hosts.get(hostId);
      if (!host) return;
      let rated = false;
      for (const rule of rules) {
        const { condition } = rule;
        if (isFactCondition(condition) || !selectsHost(rule, host)) continue;
        if (condition.kind === 'rate-ratio') rated = true;
        else apply(rule, host, evaluateCondition(condition, series, undefined) ?? []);
      }
      if (rated) rateQueue.push({ host, at, series });
    });

    // Rate rules need the sample a window before each one: fetched for a second's samples at once, per window.
    const evaluateRates = async () => {
      const batch = rateQueue;
      rateQueue = [];
      const byWindow = new Map<number, AlertRule[]>();
      for (const rule of rules) {
        if (rule.condition.kind !== 'rate-ratio') continue;
        byWindow.set(rule.condition.window, [...(byWindow.get(rule.condition.window) ?? []), rule]);
      }
      if (batch.length === 0) return;
      for (const [windowSec, windowRules] of byWindow) {
        const names = [...new Set(windowRules.flatMap((r) => metricNamesOf(r.condition as MetricCondition)))];
        const befores = await samplesBefore(
          db,
          batch.map((b) => ({ hostId: b.host.id, at: b.at })),
          windowSec,
          names,
        );
        for (const [i, b] of batch.entries()) {
          for (const rule of windowRules) {
            if (!selectsHost(rule, b.host)) continue;
            const observations = evaluateCondition(rule.condition as MetricCondition, b.series, befores[i]);
            if (observations) apply(rule, b.host, observations);
          }
        }
      }
    };
    let rating: Promise<unknown> = Promise.resolve();
    const rateTimer = setInterval(() => {
      rating = rating.then(evaluateRates).catch((err: unknown) => log.warn({ err }, 'rate rule evaluation failed'));
    }, RATE_BATCH_MS);

    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(tick).catch((err: unknown) => log.warn({ err }, 'alert evaluation tick failed'));
    }, evalMs());
    return {
      async stop() {
        unsubscribe();
        clearInterval(timer);
        clearInterval(rateTimer);
        await running;
        await rating;
        await Promise.all(chains.values());
      },
    };
  },
};

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
