import { parseSeriesKey } from '@keyfleet/proto/v1';
import { isCounter } from './metrics-history.js';

export interface HostSample {
  hostId: string;
  hostname: string;
  labels: Record<string, string>;
  online: boolean;
  /** The newest sample, when one is recent enough to stand for the host now. */
  series?: Record<string, number>;
}

/**
 * What each series means, for `# HELP` (Prometheus tooling expects one per family); also the
 * names deploy/grafana's dashboard may query, which its test checks.
 */
export const HELP: Record<string, string> = {
  kf_host_up: 'Whether the host’s agent reports to the hub (1) or missed its heartbeats (0)',
  kf_host_uptime_seconds: 'Seconds since the host booted',
  kf_host_cpu_percent: 'CPU busy over the last sample interval, percent of all cores',
  kf_host_load1: 'Load average over 1 minute',
  kf_host_load5: 'Load average over 5 minutes',
  kf_host_load15: 'Load average over 15 minutes',
  kf_host_memory_total_bytes: 'Memory installed',
  kf_host_memory_used_bytes: 'Memory in use (total minus free)',
  kf_host_disk_size_bytes: 'Size of a data filesystem, per mount',
  kf_host_disk_used_bytes: 'Used space of a data filesystem, per mount',
  kf_host_network_receive_bytes_total: 'Bytes received, per interface',
  kf_host_network_transmit_bytes_total: 'Bytes sent, per interface',
  kf_host_open_files: 'File handles allocated by the kernel',
  kf_host_open_files_max: 'Most file handles the kernel allows',
  kf_keycloak_up: 'Whether Keycloak’s management /metrics answered the agent',
  kf_keycloak_ready: 'Whether Keycloak’s /health/ready answered 200',
  kf_keycloak_logins_total: 'Successful logins, per realm (keycloak_user_events_total)',
  kf_keycloak_login_failures_total: 'Failed logins, per realm and error (keycloak_user_events_total)',
  kf_keycloak_http_requests_total: 'HTTP requests Keycloak served',
  kf_keycloak_http_5xx_total: 'HTTP requests Keycloak answered with a 5xx',
  kf_keycloak_http_p95_seconds: '95th percentile HTTP latency over the last sample interval',
  kf_keycloak_jvm_heap_used_bytes: 'JVM heap in use',
  kf_keycloak_jvm_heap_max_bytes: 'JVM heap limit',
  kf_keycloak_jvm_heap_live_bytes: 'JVM heap live after the last GC',
  kf_keycloak_db_pool_active: 'Database connections in use (agroal)',
  kf_keycloak_db_pool_available: 'Database connections idle in the pool (agroal)',
  kf_keycloak_db_pool_awaiting: 'Requests waiting for a database connection (agroal)',
  kf_cert_expires_in_seconds: 'Seconds until a certificate the hub manages for the host expires, per domain (what the host last served, else what was issued)',
  kf_backup_age_seconds: 'Seconds since the newest stored backup of the host finished (since its first attempt when none succeeded)',
  kf_backup_verified_age_seconds: 'Seconds since a backup of the host was last proven by a restore drill (since its first attempt when none was)',
  kf_backup_drill_failed: 'Whether the newest restore drill of the host’s backups failed (1) or passed (0)',
  kf_agent_version_behind: 'Whether the agent runs an older version than the hub rolls out (1), with version and wanted',
};

const labelName = (l: string) => {
  const clean = l.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(clean) ? clean : `_${clean}`;
};
const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const formatValue = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/**
 * The whole fleet as one Prometheus text exposition: every series labelled with `host` (the
 * host id), `hostname` and the host's labels, so one scrape target stands for N hosts. A series'
 * own label wins over a host label of the same name. `kf_host_up` says which agents report.
 */
export function fleetExposition(hosts: HostSample[]): string {
  const families = new Map<string, string[]>();
  const add = (name: string, labels: Record<string, string>, value: number) => {
    let lines = families.get(name);
    if (!lines) {
      lines = [];
      families.set(name, lines);
    }
    const body = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeValue(v)}"`)
      .join(',');
    lines.push(`${name}{${body}} ${formatValue(value)}`);
  };
  for (const h of hosts) {
    const hostLabels: Record<string, string> = {};
    for (const [k, v] of Object.entries(h.labels)) hostLabels[labelName(k)] = v;
    Object.assign(hostLabels, { host: h.hostId, hostname: h.hostname });
    add('kf_host_up', hostLabels, h.online ? 1 : 0);
    for (const [key, value] of Object.entries(h.series ?? {})) {
      const parsed = parseSeriesKey(key);
      if (!parsed) continue;
      add(parsed.name, { ...hostLabels, ...parsed.labels }, value);
    }
  }
  const out: string[] = [];
  for (const [name, lines] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`# HELP ${name} ${HELP[name] ?? 'Reported by the host’s agent'}`, `# TYPE ${name} ${isCounter(name) ? 'counter' : 'gauge'}`, ...lines);
  }
  return `${out.join('\n')}\n`;
}
