import { describe, expect, it } from 'vitest';
import { alertRuleInput } from './alert-rule.js';
import { BUILTIN_RULES } from './builtin-rules.js';
import { evaluateCondition } from './evaluate-rule.js';
import { isFactCondition } from './fact-observations.js';

const condition = (name: string) => {
  const c = BUILTIN_RULES.find((r) => r.name === name)!.condition;
  if (isFactCondition(c)) throw new Error('not a metric rule');
  return c;
};

describe('evaluateCondition', () => {
  it('compares used / size per mount', () => {
    const obs = evaluateCondition(
      condition('disk-full'),
      {
        'kf_host_disk_used_bytes{mount="/"}': 90,
        'kf_host_disk_size_bytes{mount="/"}': 100,
        'kf_host_disk_used_bytes{mount="/data"}': 10,
        'kf_host_disk_size_bytes{mount="/data"}': 100,
      },
      undefined,
    );
    expect(obs).toEqual([
      { labels: { mount: '/' }, value: 0.9, active: true },
      { labels: { mount: '/data' }, value: 0.1, active: false },
    ]);
  });

  it('login failure ratio per realm over the window, quiet below the minimum count, through a reset', () => {
    const c = condition('login-failure-ratio');
    const before = {
      'kf_keycloak_login_failures_total{error="invalid_user_credentials",realm="a"}': 5,
      'kf_keycloak_logins_total{realm="a"}': 100,
      'kf_keycloak_logins_total{realm="b"}': 100,
    };
    const now = {
      'kf_keycloak_login_failures_total{error="invalid_user_credentials",realm="a"}': 25,
      'kf_keycloak_logins_total{realm="a"}': 102,
      // Realm b's Keycloak restarted: its counters began again.
      'kf_keycloak_login_failures_total{error="user_not_found",realm="b"}': 3,
      'kf_keycloak_logins_total{realm="b"}': 1,
    };
    const obs = evaluateCondition(c, now, before)!;
    expect(obs.find((o) => o.labels.realm === 'a')).toMatchObject({ active: true, value: 20 / 22 });
    expect(obs.find((o) => o.labels.realm === 'b')).toMatchObject({ active: false, value: 0.75 });
    // Without an earlier sample a rate says nothing, so open alerts stay as they are.
    expect(evaluateCondition(c, now, undefined)).toBeUndefined();
  });

  it('a rule names known metrics, durations and label names', () => {
    const bad = alertRuleInput.safeParse({
      name: 'x',
      for: '5 minutes',
      selector: { 'a b': 'c' },
      condition: { kind: 'threshold', metric: 'kf_nope', op: '>', value: 1 },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['for', 'selector.a b', 'condition.metric']));
    for (const rule of BUILTIN_RULES)
      expect(
        alertRuleInput.safeParse({
          ...rule,
          for: `${rule.for}s`,
          condition: {
            ...rule.condition,
            ...('window' in rule.condition ? { window: `${rule.condition.window}s` } : {}),
            ...('maxAge' in rule.condition ? { maxAge: `${rule.condition.maxAge / 3600}h` } : {}),
          },
        }).success,
      ).toBe(true);
  });
});
