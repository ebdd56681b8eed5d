import { describe, expect, it } from 'vitest';
import { KeycloakMetrics } from './keycloak-metrics.js';

/** What Keycloak 26's management /metrics serves with user event metrics and HTTP histograms on. */
const exposition = (logins: number, failures: number, fast: number, slow: number) => `
# HELP keycloak_user_events_total Keycloak user events
# TYPE keycloak_user_events_total counter
keycloak_user_events_total{client_id="",error="",event="login",idp="",realm="demo",} ${logins}.0
keycloak_user_events_total{client_id="",error="invalid_user_credentials",event="login",idp="",realm="demo",} ${failures}.0
keycloak_user_events_total{client_id="",error="",event="code_to_token",idp="",realm="demo",} 7.0
keycloak_user_events_total{client_id="",error="",event="login",idp="",realm="master",} 1.0
# TYPE http_server_requests_seconds histogram
http_server_requests_seconds_bucket{method="GET",outcome="SUCCESS",status="200",uri="/realms/{realm}",le="0.1"} ${fast}
http_server_requests_seconds_bucket{method="GET",outcome="SUCCESS",status="200",uri="/realms/{realm}",le="1.0"} ${fast + slow}
http_server_requests_seconds_bucket{method="GET",outcome="SUCCESS",status="200",uri="/realms/{realm}",le="+Inf"} ${fast + slow}
http_server_requests_seconds_count{method="GET",outcome="SUCCESS",status="200",uri="/realms/{realm}"} ${fast + slow}
http_server_requests_seconds_count{method="POST",outcome="SERVER_ERROR",status="500",uri="/admin"} 2
# TYPE jvm_memory_used_bytes gauge
jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 1000.0
jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 500.0
jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 9999.0
jvm_memory_max_bytes{area="heap",id="G1 Old Gen"} 4000.0
jvm_memory_max_bytes{area="heap",id="G1 Eden Space"} -1.0
agroal_active_count{datasource="default",} 3.0
agroal_awaiting_count{datasource="default",} 0.0
`;

describe('KeycloakMetrics', () => {
  it('keeps logins and failures per realm, HTTP totals, heap and the DB pool', () => {
    const s = new KeycloakMetrics().summarize(exposition(5, 2, 10, 0));
    expect(s).toMatchObject({
      'kf_keycloak_logins_total{realm="demo"}': 5,
      'kf_keycloak_logins_total{realm="master"}': 1,
      'kf_keycloak_login_failures_total{error="invalid_user_credentials",realm="demo"}': 2,
      kf_keycloak_http_requests_total: 12,
      kf_keycloak_http_5xx_total: 2,
      kf_keycloak_jvm_heap_used_bytes: 1500,
      kf_keycloak_jvm_heap_max_bytes: 4000,
      kf_keycloak_db_pool_active: 3,
      kf_keycloak_db_pool_awaiting: 0,
    });
    // The first scrape has no interval to measure latency over.
    expect(s.kf_keycloak_http_p95_seconds).toBeUndefined();
  });

  it('measures p95 over the requests since the previous scrape, not since Keycloak started', () => {
    const m = new KeycloakMetrics();
    m.summarize(exposition(0, 0, 1000, 0));
    // 10 new requests, all slow: p95 lies in the 0.1–1 s bucket although 1000 old ones were fast.
    const p95 = m.summarize(exposition(0, 0, 1000, 10)).kf_keycloak_http_p95_seconds;
    expect(p95).toBeGreaterThan(0.1);
    expect(p95).toBeLessThanOrEqual(1);
    expect(m.summarize(exposition(0, 0, 1000, 10)).kf_keycloak_http_p95_seconds).toBeUndefined();
  });
});
