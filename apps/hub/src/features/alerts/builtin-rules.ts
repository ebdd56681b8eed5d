import type { AlertRule } from './alert-rule.js';

/**
 * On by default; an operator changes or disables one by applying a rule of the same name.
 * Each `description` says why the rule exists.
 */
export const BUILTIN_RULES: AlertRule[] = [
  {
    name: 'host-offline',
    description: 'The agent missed 3 heartbeats: the host, its network or the agent is down, and nothing on it is managed.',
    severity: 'critical',
    for: 0,
    enabled: true,
    condition: { kind: 'host-offline' },
  },
  {
    name: 'disk-full',
    description: 'A data filesystem is over 85 %: Keycloak’s database, logs and backups stop when it fills.',
    severity: 'warning',
    for: 300,
    enabled: true,
    condition: { kind: 'threshold', metric: 'kf_host_disk_used_bytes', divideBy: 'kf_host_disk_size_bytes', op: '>', value: 0.85 },
  },
  {
    name: 'memory-high',
    description: 'Memory over 90 %: the kernel starts killing processes, the JVM first.',
    severity: 'warning',
    for: 300,
    enabled: true,
    condition: { kind: 'threshold', metric: 'kf_host_memory_used_bytes', divideBy: 'kf_host_memory_total_bytes', op: '>', value: 0.9 },
  },
  {
    name: 'keycloak-not-ready',
    description: 'Keycloak’s /health/ready fails: logins fail for every realm on the host.',
    severity: 'critical',
    for: 60,
    enabled: true,
    condition: { kind: 'threshold', metric: 'kf_keycloak_ready', op: '<', value: 1 },
  },
  {
    name: 'login-failure-ratio',
    description: 'More than half of the logins of a realm fail: a brute-force attempt or a broken client.',
    severity: 'warning',
    for: 0,
    enabled: true,
    condition: {
      kind: 'rate-ratio',
      numerator: 'kf_keycloak_login_failures_total',
      denominator: ['kf_keycloak_login_failures_total', 'kf_keycloak_logins_total'],
      by: 'realm',
      window: 60,
      minCount: 10,
      op: '>',
      value: 0.5,
    },
  },
  {
    name: 'keycloak-slow',
    description: 'p95 HTTP latency over 1 s: users wait at the login page.',
    severity: 'warning',
    for: 300,
    enabled: true,
    condition: { kind: 'threshold', metric: 'kf_keycloak_http_p95_seconds', op: '>', value: 1 },
  },
  {
    name: 'keycloak-5xx',
    description: 'Over 5 % of Keycloak’s responses are server errors.',
    severity: 'warning',
    for: 120,
    enabled: true,
    condition: {
      kind: 'rate-ratio',
      numerator: 'kf_keycloak_http_5xx_total',
      denominator: ['kf_keycloak_http_requests_total'],
      window: 300,
      minCount: 20,
      op: '>',
      value: 0.05,
    },
  },
  {
    name: 'certificate-expiry',
    description:
      'A certificate the hub manages for the host expires in under 14 days: renewal (due at 2/3 of its lifetime) has been failing, and at expiry clients refuse Keycloak.',
    severity: 'warning',
    for: 0,
    enabled: true,
    condition: { kind: 'certificate-expiry', days: 14 },
  },
  {
    name: 'backup-too-old',
    description: 'The newest stored backup of the host is over 26 h old: a daily backup was missed, and what a restore would lose (RPO) keeps growing.',
    severity: 'warning',
    for: 0,
    enabled: true,
    condition: { kind: 'backup-age', of: 'stored', maxAge: 26 * 3600 },
  },
  {
    name: 'backup-unverified',
    description: 'No backup of the host was proven by a restore drill in 8 days: a backup never restored is a hope, not a backup.',
    severity: 'warning',
    for: 0,
    enabled: true,
    condition: { kind: 'backup-age', of: 'verified', maxAge: 8 * 24 * 3600 },
  },
  {
    name: 'backup-drill-failed',
    description: 'The last restore drill of the host’s backups failed: they may not restore when needed.',
    severity: 'critical',
    for: 0,
    enabled: true,
    condition: { kind: 'backup-drill-failed' },
  },
  {
    name: 'hardening-drift',
    description:
      'A hardening rule that passed fails since an audit (not an operator’s apply or rollback) found it changed: someone or something changed the host behind Keyfleet’s back.',
    severity: 'warning',
    for: 0,
    enabled: true,
    condition: { kind: 'hardening-drift' },
  },
  {
    name: 'agent-version-skew',
    description:
      'The agent has run an older version than the hub rolls out (KEYFLEET_AGENT_VERSION, its newest artifact, else the newest in the fleet) for an hour: it lacks fixes and task types; finish the upgrade.',
    severity: 'info',
    for: 3600,
    enabled: true,
    condition: { kind: 'agent-version-skew' },
  },
];
