import type { HubService } from '../../hub-feature.js';
import { onMetricSample } from '../metrics/index.js';
import { type AlertHost, alertHosts } from './alert-hosts.js';
import { type AlertRule, selectsHost } from './alert-rule.js';
import { applyObservations } from './alert-lifecycle.js';
import { type AlertsDb, alertsDb } from './alerts-tables.js';
import { BUILTIN_RULES } from './builtin-rules.js';
import { evaluateCondition } from './evaluate-rule.js';
import { factObservations, isFactCondition } from './fact-observations.js';
import { queueRepeats } from './queue-repeats.js';
import { sampleBefore } from './sample-before.js';

/** How often rules, hosts and host-offline are re-read (KEYFLEET_ALERTS_EVAL_MS, default 5 s). */
const evalMs = () => Number(process.env.KEYFLEET_ALERTS_EVAL_MS) || 5_000;

/**
 * Evaluates rules as data arrives: metric rules on every sample this hub ingests, rules on facts
 * (host-offline against the heartbeat deadline) on every tick. Every hub runs it; the lifecycle's conditional
 * writes make each transition happen once.
 */
export const alertEvaluator: HubService = {
  name: 'alert-evaluator',
  async start(deps) {
    const db = alertsDb(deps.db);
    const log = deps.log.child({ service: 'alert-evaluator' });
    await seedBuiltins(db);
    let rules: AlertRule[] = [];
    const hosts = new Map<string, AlertHost>();
    const refresh = async () => {
      rules = (await db.selectFrom('alert_rules').select('spec').execute()).map((r) => r.spec).filter((r) => r.enabled);
      hosts.clear();
      for (const h of await alertHosts(db)) hosts.set(h.id, h);
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

    const unsubscribe = onMetricSample((hostId, at, series) => {
      const host = hosts.get(hostId);
      if (!host) return;
      void perHost(hostId, async () => {
        for (const rule of rules) {
          const { condition } = rule;
          if (isFactCondition(condition) || !selectsHost(rule, host)) continue;
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
