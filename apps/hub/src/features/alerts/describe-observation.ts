import type { AlertCondition } from './alert-rule.js';
import type { Observation } from './evaluate-rule.js';

const num = (v: number) => String(Number(v.toPrecision(4)));
const labelsText = (labels: Record<string, string>) => {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
};

/** Why an observation does or does not breach, in words an operator checks a rule with. */
export function describeObservation(condition: AlertCondition, o: Observation): string {
  const verdict = (op: '>' | '<', threshold: number) => `${o.active ? 'breaches' : 'within'} ${op} ${num(threshold)}`;
  switch (condition.kind) {
    case 'host-offline':
      return o.active ? 'missed 3 heartbeats: offline' : 'heartbeats arrive: online';
    case 'threshold': {
      const what = `${condition.metric}${condition.divideBy ? ` / ${condition.divideBy}` : ''}${labelsText(o.labels)}`;
      return `${what} = ${num(o.value)}, ${verdict(condition.op, condition.value)}`;
    }
    case 'certificate-expiry':
      return `certificate for ${o.labels.domain} expires in ${num(o.value)} days, ${o.active ? 'under' : 'not under'} ${condition.days}`;
    case 'backup-age':
      return `newest ${condition.of} backup is ${num(o.value)} h old, ${o.active ? 'over' : 'within'} ${num(condition.maxAge / 3600)} h`;
    case 'backup-drill-failed':
      return o.active ? 'the last restore drill failed' : 'the last restore drill passed';
    case 'agent-version-skew':
      return `agent ${o.labels.version}, ${o.active ? 'behind' : 'at'} ${o.labels.wanted}`;
    case 'hardening-drift':
      return `hardening rule ${o.labels.rule} ${o.active ? 'passed before and fails since an audit' : 'passes'}`;
    case 'rate-ratio': {
      const what = `increase(${condition.numerator}) / increase(${condition.denominator.join(' + ')})${labelsText(o.labels)} over ${condition.window}s`;
      const quiet = !o.active && (condition.op === '>' ? o.value > condition.value : o.value < condition.value);
      return `${what} = ${num(o.value)}, ${quiet ? `fewer than ${condition.minCount} events: says nothing` : verdict(condition.op, condition.value)}`;
    }
  }
}
