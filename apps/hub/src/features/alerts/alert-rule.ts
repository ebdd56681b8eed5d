import { z } from '@hono/zod-openapi';

/** Metrics a rule may name: what agents report (see the metrics feature); a typo is a 400, not a silent rule. */
export const KNOWN_METRICS = [
  'kf_host_cpu_percent',
  'kf_host_load1',
  'kf_host_load5',
  'kf_host_load15',
  'kf_host_memory_total_bytes',
  'kf_host_memory_used_bytes',
  'kf_host_disk_size_bytes',
  'kf_host_disk_used_bytes',
  'kf_host_network_receive_bytes_total',
  'kf_host_network_transmit_bytes_total',
  'kf_host_open_files',
  'kf_host_open_files_max',
  'kf_keycloak_up',
  'kf_keycloak_ready',
  'kf_keycloak_logins_total',
  'kf_keycloak_login_failures_total',
  'kf_keycloak_http_requests_total',
  'kf_keycloak_http_5xx_total',
  'kf_keycloak_http_p95_seconds',
  'kf_keycloak_jvm_heap_used_bytes',
  'kf_keycloak_jvm_heap_max_bytes',
  'kf_keycloak_jvm_heap_live_bytes',
  'kf_keycloak_db_pool_active',
  'kf_keycloak_db_pool_available',
  'kf_keycloak_db_pool_awaiting',
] as const;

const metric = z.enum(KNOWN_METRICS, { error: (i) => `unknown metric ${JSON.stringify(i.input)}` });
// An enum of the counters rather than a refine, so the OpenAPI document says which names fit.
const COUNTERS = KNOWN_METRICS.filter((m): m is Extract<(typeof KNOWN_METRICS)[number], `${string}_total`> => m.endsWith('_total'));
const counter = z.enum(COUNTERS as [(typeof COUNTERS)[number], ...(typeof COUNTERS)[number][]], {
  error: (i) => `${JSON.stringify(i.input)} is not a counter (a known metric ending in _total)`,
});
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };
export const duration = z
  .string()
  .regex(/^\d{1,5}[smh]$/, 'a duration like 30s, 5m or 1h')
  .transform((v) => Number(v.slice(0, -1)) * UNITS[v.slice(-1)]!);
const op = z.enum(['>', '<']);

export const alertCondition = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('host-offline') }).strict(),
  z
    .object({
      kind: z.literal('certificate-expiry'),
      /** Fires per certificate the hub manages for the host with fewer days left than this. */
      days: z.number().positive().max(365).default(14),
    })
    .strict(),
  z
    .object({
      kind: z.literal('backup-age'),
      /** stored: the newest backup in the catalog (RPO); verified: the newest one a restore drill proved. */
      of: z.enum(['stored', 'verified']).default('stored'),
      maxAge: duration.openapi({ type: 'string', example: '26h' }),
    })
    .strict(),
  z.object({ kind: z.literal('backup-drill-failed') }).strict(),
  z.object({ kind: z.literal('agent-version-skew') }).strict(),
  /** Fires per hardening rule that passed and fails since an audit found it changed (drift), until it passes again. */
  z.object({ kind: z.literal('hardening-drift') }).strict(),
  z
    .object({
      kind: z.literal('threshold'),
      metric,
      /** Compared: metric / divideBy of the same labels (e.g. used / size per mount). */
      divideBy: metric.optional(),
      op,
      value: z.number(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('rate-ratio'),
      /** increase(numerator) / increase(sum of denominator) over `window`, per `by` label. */
      numerator: counter,
      denominator: z.array(counter).min(1).max(5),
      by: z
        .string()
        .regex(/^[a-z_]{1,32}$/)
        .optional(),
      // The document's default must fit the documented pattern (the parsed value is seconds).
      window: duration.default(60).openapi({ default: '60s' }),
      /** Below this many numerator events in the window the ratio says nothing (one failed login of two). */
      minCount: z.number().int().nonnegative().default(10),
      op,
      value: z.number(),
    })
    .strict(),
]);

const LABEL_NAME = /^[a-zA-Z0-9._/-]{1,63}$/;
// propertyNames states the key rule in the document, which the generator drops from records.
const labelMatchers = z
  .record(z.string().regex(LABEL_NAME, 'a label name'), z.string().max(253))
  .openapi({ propertyNames: { pattern: LABEL_NAME.source } } as object);

export const alertRuleInput = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
    description: z.string().max(1000).optional(),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    for: duration.default(0),
    /** Notify again this often while an alert is firing and unacknowledged; once when absent. */
    repeat: duration.optional(),
    /** Host labels the rule applies to; every host when absent. */
    selector: labelMatchers.optional(),
    /** Channel names; every channel when absent. */
    channels: z.array(z.string().max(63)).max(20).optional(),
    enabled: z.boolean().default(true),
    condition: alertCondition,
  })
  .strict()
  .openapi('AlertRule');

export type AlertRule = z.output<typeof alertRuleInput>;
export type AlertCondition = AlertRule['condition'];

/** Whether a rule applies to a host: every label of its selector matches (no selector: every host). */
export function selectsHost(rule: Pick<AlertRule, 'selector'>, host: { labels: Record<string, string> }): boolean {
  return Object.entries(rule.selector ?? {}).every(([k, v]) => host.labels[k] === v);
}
