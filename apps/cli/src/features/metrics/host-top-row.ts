/** One host's line of `keyfleet hosts top`; undefined where the hub knows nothing (yet). */
export interface HostTopRow {
  hostId: string;
  hostname: string;
  status: string;
  cpuPercent?: number;
  memoryPercent?: number;
  /** The fullest data filesystem. */
  diskPercent?: number;
  loginsPerMin?: number;
  failuresPerMin?: number;
  p95Ms?: number;
  /** Days until the host's soonest certificate expires (negative once expired). */
  certDaysLeft?: number;
  /** Hours since the host's newest stored backup finished. */
  backupAgeHours?: number;
}

/** A metric series as `GET /v1/hosts/{id}/metrics` returns it: counters as per-second rates. */
export interface HistorySeries {
  name: string;
  labels: Record<string, string>;
  points: Array<[number, number]>;
}

const last = (s: HistorySeries | undefined) => s?.points.at(-1)?.[1];

/** The live figures of a host from its recent history: the newest point of each gauge, the mean of each rate. */
export function liveFigures(
  series: HistorySeries[],
): Pick<HostTopRow, 'cpuPercent' | 'memoryPercent' | 'diskPercent' | 'loginsPerMin' | 'failuresPerMin' | 'p95Ms'> {
  const named = (name: string) => series.filter((s) => s.name === name);
  const one = (name: string) => last(named(name)[0]);
  // The mean rate over the window, summed over realms: one quiet sample interval does not show 0.
  const perMin = (name: string) => {
    const rates = named(name)
      .filter((s) => s.points.length > 0)
      .map((s) => s.points.reduce((a, p) => a + p[1], 0) / s.points.length);
    return rates.length > 0 ? rates.reduce((a, b) => a + b, 0) * 60 : undefined;
  };
  const memUsed = one('kf_host_memory_used_bytes');
  const memTotal = one('kf_host_memory_total_bytes');
  const disks = named('kf_host_disk_used_bytes').flatMap((used) => {
    const size = last(named('kf_host_disk_size_bytes').find((s) => s.labels.mount === used.labels.mount));
    const u = last(used);
    return size && u !== undefined ? [(100 * u) / size] : [];
  });
  const p95 = one('kf_keycloak_http_p95_seconds');
  return {
    cpuPercent: one('kf_host_cpu_percent'),
    memoryPercent: memUsed !== undefined && memTotal ? (100 * memUsed) / memTotal : undefined,
    diskPercent: disks.length > 0 ? Math.max(...disks) : undefined,
    loginsPerMin: perMin('kf_keycloak_logins_total'),
    failuresPerMin: perMin('kf_keycloak_login_failures_total'),
    p95Ms: p95 === undefined ? undefined : p95 * 1000,
  };
}

/** The metric names `liveFigures` reads, for the history request. */
export const LIVE_METRICS = [
  'kf_host_cpu_percent',
  'kf_host_memory_used_bytes',
  'kf_host_memory_total_bytes',
  'kf_host_disk_used_bytes',
  'kf_host_disk_size_bytes',
  'kf_keycloak_logins_total',
  'kf_keycloak_login_failures_total',
  'kf_keycloak_http_p95_seconds',
];
