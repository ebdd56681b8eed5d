import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for Keycloak's management port serving the real exposition format: the metrics path
 * is what is under test here, not Keycloak (keycloak-process tests boot the real one).
 */
export function fakeKeycloakManagement(): { server: Server; url: () => string; login: (ok: boolean, times?: number) => void } {
  let logins = 0;
  let failures = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    if (req.url === '/health/ready') return void res.end('{"status":"UP"}');
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    requests += 3;
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`# TYPE keycloak_user_events_total counter
keycloak_user_events_total{client_id="",error="",event="login",idp="",realm="demo",} ${logins}.0
keycloak_user_events_total{client_id="",error="invalid_user_credentials",event="login",idp="",realm="demo",} ${failures}.0
http_server_requests_seconds_bucket{method="GET",outcome="SUCCESS",status="200",uri="/realms/{realm}",le="0.05"} ${requests}
http_server_requests_seconds_bucket{method="GET",outcome="SUCCESS",status="200",uri="/realms/{realm}",le="+Inf"} ${requests}
http_server_requests_seconds_count{method="GET",outcome="SUCCESS",status="200",uri="/realms/{realm}"} ${requests}
jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 123456789.0
agroal_active_count{datasource="default",} 2.0
`);
  });
  return {
    server,
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    login: (ok, times = 1) => {
      if (ok) logins += times;
      else failures += times;
    },
  };
}
