import type { z } from 'zod';
import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { HardeningRule, RuleCheck, RuleEnv } from './hardening-rule.js';

type Report = z.input<(typeof taskDefinitions)['hardening.audit']['output']>;
type Finding = Report['findings'][number];
type Disabled = Array<{ rule: string; reason: string }>;

/** Every rule's finding; `checks` holds the checks of the rules that ran (apply works from them). */
export async function auditRules(
  profile: string,
  rules: readonly HardeningRule[],
  env: RuleEnv,
  disabled: Disabled,
): Promise<{ report: Report; checks: Map<string, RuleCheck> }> {
  const findings: Finding[] = [];
  const checks = new Map<string, RuleCheck>();
  for (const rule of rules) {
    const base = { rule: rule.id, title: rule.title, why: rule.why };
    const off = disabled.find((d) => d.rule === rule.id);
    if (off) {
      findings.push({ ...base, status: 'disabled', current: '-', wanted: '-', reason: off.reason, changes: [] });
      continue;
    }
    if (rule.runtimes && !(env.params.runtime && rule.runtimes.includes(env.params.runtime))) {
      findings.push({
        ...base,
        status: 'not-applicable',
        current: '-',
        wanted: '-',
        reason: `concerns the ${rule.runtimes.join('/')} runtime only`,
        changes: [],
      });
      continue;
    }
    try {
      const check = await rule.check(env);
      checks.set(rule.id, check);
      findings.push({ ...base, ...check });
    } catch (err) {
      findings.push({ ...base, status: 'error', current: '-', wanted: '-', reason: (err as Error).message, changes: [] });
    }
  }
  const counted = findings.filter((f) => f.status === 'pass' || f.status === 'fail' || f.status === 'error');
  const score = counted.length ? Math.round((100 * counted.filter((f) => f.status === 'pass').length) / counted.length) : 100;
  return { report: { profile, checkedAt: new Date().toISOString(), score, findings }, checks };
}
