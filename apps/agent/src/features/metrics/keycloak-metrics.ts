import { seriesKey } from '@keyfleet/proto/v1';
import { type PromSample, parsePrometheusText } from './parse-prometheus-text.js';

const sum = (samples: PromSample[]) => samples.reduce((a, s) => a + (Number.isFinite(s.value) ? s.value : 0), 0);

/**
 * Turns Keycloak's management /metrics into the few series an operator watches, rather than
 * shipping its hundreds: logins and failures per realm (`keycloak_user_events_total`), HTTP
 * rate, 5xx and p95 latency (`http_server_requests_seconds_*`), JVM heap, the DB pool (agroal).
 * Keeps the last histogram to compute p95 over the interval, not since Keycloak started.
 */
export class KeycloakMetrics {
  private lastBuckets: Map<number, number> | undefined;

  summarize(text: string): Record<string, number> {
    const samples = parsePrometheusText(text);
    const by = (name: string) => samples.filter((s) => s.name === name);
    const series: Record<string, number> = {};

    for (const s of by('keycloak_user_events_total')) {
      if (s.labels.event !== 'login' || !s.labels.realm) continue;
      const key = s.labels.error
        ? seriesKey('kf_keycloak_login_failures_total', { realm: s.labels.realm, error: s.labels.error })
        : seriesKey('kf_keycloak_logins_total', { realm: s.labels.realm });
      series[key] = (series[key] ?? 0) + s.value;
    }

    const counts = by('http_server_requests_seconds_count');
    if (counts.length > 0) {
      series.kf_keycloak_http_requests_total = sum(counts);
      series.kf_keycloak_http_5xx_total = sum(counts.filter((s) => s.labels.status?.startsWith('5') || s.labels.outcome === 'SERVER_ERROR'));
    }
    const p95 = this.intervalQuantile(by('http_server_requests_seconds_bucket'), 0.95);
    if (p95 !== undefined) series.kf_keycloak_http_p95_seconds = p95;

    const heap = by('jvm_memory_used_bytes').filter((s) => s.labels.area === 'heap');
    if (heap.length > 0) series.kf_keycloak_jvm_heap_used_bytes = sum(heap);
    const heapMax = by('jvm_memory_max_bytes').filter((s) => s.labels.area === 'heap' && s.value > 0);
    if (heapMax.length > 0) series.kf_keycloak_jvm_heap_max_bytes = sum(heapMax);
    // Heap after GC: what survives collection is the leak signal, not the sawtooth of used heap.
    const live = by('jvm_gc_live_data_size_bytes');
    if (live.length > 0) series.kf_keycloak_jvm_heap_live_bytes = sum(live);

    for (const [from, to] of [
      ['agroal_active_count', 'kf_keycloak_db_pool_active'],
      ['agroal_available_count', 'kf_keycloak_db_pool_available'],
      ['agroal_awaiting_count', 'kf_keycloak_db_pool_awaiting'],
    ] as const) {
      const found = by(from);
      if (found.length > 0) series[to] = sum(found);
    }
    return series;
  }

  /** The quantile of requests since the previous scrape, from the cumulative histogram; undefined with none. */
  private intervalQuantile(buckets: PromSample[], q: number): number | undefined {
    const now = new Map<number, number>();
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le);
      if (Number.isNaN(le)) continue;
      now.set(le, (now.get(le) ?? 0) + b.value);
    }
    const previous = this.lastBuckets;
    this.lastBuckets = now;
    if (!previous || now.size === 0) return undefined;
    const bounds = [...now.keys()].sort((a, b) => a - b);
    const delta = bounds.map((le) => Math.max(0, (now.get(le) ?? 0) - (previous.get(le) ?? 0)));
    const total = delta[delta.length - 1] ?? 0;
    if (total <= 0) return undefined;
    const rank = q * total;
    for (let i = 0; i < bounds.length; i++) {
      if (delta[i]! < rank) continue;
      const upper = bounds[i]!;
      const lower = i > 0 ? bounds[i - 1]! : 0;
      // Past the last finite bound the best answer is that bound, as Prometheus does.
      if (!Number.isFinite(upper)) return lower;
      const below = i > 0 ? delta[i - 1]! : 0;
      const inBucket = delta[i]! - below;
      return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
    }
    return undefined;
  }
}
