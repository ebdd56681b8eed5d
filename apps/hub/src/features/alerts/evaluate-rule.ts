import { parseSeriesKey } from '@keyfleet/proto/v1';
import type { MetricCondition } from './fact-observations.js';

/** One thing a rule watches on a host (a mount, a realm, or the host itself) and whether it breaches. */
export interface Observation {
  /** The series' labels that tell it apart (mount, realm); empty for the host as a whole. */
  labels: Record<string, string>;
  value: number;
  active: boolean;
}

type Series = Record<string, number>;
type Parsed = Array<{ labels: Record<string, string>; value: number }>;

/**
 * Each sample's keys parsed once, by metric name, however many rules read the sample: parsing
 * every key once per rule was most of the hub's CPU at 10,000 hosts (bench/alerts).
 */
const parsedSamples = new WeakMap<Series, Map<string, Parsed>>();

function byName(series: Series, name: string): Parsed {
  let byMetric = parsedSamples.get(series);
  if (!byMetric) {
    byMetric = new Map();
    for (const [key, value] of Object.entries(series)) {
      const p = parseSeriesKey(key);
      if (!p) continue;
      const list = byMetric.get(p.name);
      if (list) list.push({ labels: p.labels, value });
      else byMetric.set(p.name, [{ labels: p.labels, value }]);
    }
    parsedSamples.set(series, byMetric);
  }
  return byMetric.get(name) ?? [];
}

const breaches = (op: '>' | '<', value: number, threshold: number) => (op === '>' ? value > threshold : value < threshold);
const sameLabels = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * Evaluates a metric condition on a host's newest sample (and, for rates, the sample `window`
 * earlier). Only what the sample holds is observed: a host without Keycloak has no Keycloak alerts.
 * Undefined when it cannot tell (a rate with no earlier sample yet): open alerts stay as they are.
 */
export function evaluateCondition(condition: MetricCondition, now: Series, before: Series | undefined): Observation[] | undefined {
  if (condition.kind === 'threshold') {
    const out: Observation[] = [];
    const divisors = condition.divideBy ? byName(now, condition.divideBy) : [];
    for (const s of byName(now, condition.metric)) {
      let value = s.value;
      if (condition.divideBy) {
        const d = divisors.find((x) => sameLabels(x.labels, s.labels));
        if (!d || d.value <= 0) continue;
        value = s.value / d.value;
      }
      out.push({ labels: s.labels, value, active: breaches(condition.op, value, condition.value) });
    }
    return out;
  }
  if (!before) return undefined;
  // Increase per group (the `by` label, or the host) of each counter between the two samples.
  const increase = (name: string) => {
    const groups = new Map<string, number>();
    const old = byName(before, name);
    for (const s of byName(now, name)) {
      const prev = old.find((o) => sameLabels(o.labels, s.labels))?.value ?? 0;
      // A counter that went down was reset (Keycloak restarted): its value is the increase.
      const inc = s.value >= prev ? s.value - prev : s.value;
      const group = condition.by ? (s.labels[condition.by] ?? '') : '';
      groups.set(group, (groups.get(group) ?? 0) + inc);
    }
    return groups;
  };
  const num = increase(condition.numerator);
  const dens = condition.denominator.map(increase);
  const out: Observation[] = [];
  for (const [group, n] of num) {
    const d = dens.reduce((a, m) => a + (m.get(group) ?? 0), 0);
    const value = d > 0 ? n / d : 0;
    out.push({
      labels: condition.by ? { [condition.by]: group } : {},
      value,
      active: n >= condition.minCount && breaches(condition.op, value, condition.value),
    });
  }
  return out;
}
