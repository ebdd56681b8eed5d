/**
 * A worker process that plays many hosts' agents from one NATS connection: every host sends a
 * heartbeat and a metric sample (30 series: host and Keycloak, two realms) every 15 s, hosts
 * phase-shifted evenly over the interval as a real fleet drifts. It publishes on each host's own
 * subjects with the hub's credential (one connection per host would measure nats-server and this
 * process's sockets, not the hub; the hub sees the same messages either way).
 * argv: natsUrl credsPath firstIndex count total. Commands on stdin, one JSON line each:
 *   {"offline": [hostId...]}  stop those hosts; prints `offline <hostId> <last heartbeat ms>`
 *   {"hot": [hostId...]}      their CPU reads 97 % from the next sample; prints `hot <hostId> <sent ms>`
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import * as v1 from '@keyfleet/proto/v1';
import { benchHostId } from './bench-host-id.js';

const [natsUrl, credsPath, firstArg, countArg, totalArg] = process.argv.slice(2);
const first = Number(firstArg);
const count = Number(countArg);
const total = Number(totalArg);
const INTERVAL_MS = 15_000;

const nc = await connect({ servers: natsUrl, authenticator: credsAuthenticator(readFileSync(credsPath!)), maxReconnectAttempts: -1 });

interface SimHost {
  id: string;
  /** When the next report is due (ms epoch). */
  due: number;
  stopped: boolean;
  hot: boolean;
  hotReported: boolean;
  lastHeartbeatMs: number;
  logins: number;
  failures: number;
  requests: number;
  errors: number;
  rx: number;
  tx: number;
}

const start = Date.now();
const hosts: SimHost[] = Array.from({ length: count }, (_, k) => {
  const i = first + k;
  return {
    id: benchHostId(i),
    // Spread over the whole fleet, not per worker, so the workers' hosts interleave.
    due: start + Math.floor((i * INTERVAL_MS) / total),
    stopped: false,
    hot: false,
    hotReported: false,
    lastHeartbeatMs: 0,
    logins: 0,
    failures: 0,
    requests: 0,
    errors: 0,
    rx: 0,
    tx: 0,
  };
});
const byId = new Map(hosts.map((h) => [h.id, h]));

const GiB = 1024 ** 3;
function report(h: SimHost, now: number): void {
  const cpu = h.hot ? 97 : 5 + Math.random() * 20;
  const memUsed = (3 + Math.random()) * GiB;
  const at = new Date(now).toISOString();
  const disks = [
    { mount: '/', sizeBytes: 40 * GiB, usedBytes: 12 * GiB + Math.random() * GiB },
    { mount: '/var/lib/keycloak', sizeBytes: 100 * GiB, usedBytes: 30 * GiB },
  ];
  nc.publish(
    v1.subjects.hub.heartbeat(h.id),
    v1.encode(v1.heartbeat, {
      kind: 'heartbeat',
      hostId: h.id,
      uptimeSec: (now - start) / 1000 + 86_400,
      cpuPercent: cpu,
      load: [0.4, 0.5, 0.5],
      memory: { totalBytes: 8 * GiB, usedBytes: memUsed },
      disks,
      runningTasks: 0,
    }),
  );
  h.lastHeartbeatMs = now;
  // Counters grow as a quiet Keycloak's do: a few logins, the odd failure, no 5xx burst.
  h.logins += 10 + Math.floor(Math.random() * 10);
  h.failures += Math.random() < 0.3 ? 1 : 0;
  h.requests += 200 + Math.floor(Math.random() * 50);
  h.errors += Math.random() < 0.05 ? 1 : 0;
  h.rx += 5_000_000;
  h.tx += 8_000_000;
  const series: Record<string, number> = {
    kf_host_uptime_seconds: (now - start) / 1000 + 86_400,
    kf_host_cpu_percent: cpu,
    kf_host_load1: 0.4,
    kf_host_load5: 0.5,
    kf_host_load15: 0.5,
    kf_host_memory_total_bytes: 8 * GiB,
    kf_host_memory_used_bytes: memUsed,
    kf_host_open_files: 2048,
    kf_host_open_files_max: 9_223_372,
    [v1.seriesKey('kf_host_network_receive_bytes_total', { device: 'eth0' })]: h.rx,
    [v1.seriesKey('kf_host_network_transmit_bytes_total', { device: 'eth0' })]: h.tx,
    kf_keycloak_up: 1,
    kf_keycloak_ready: 1,
    kf_keycloak_http_requests_total: h.requests,
    kf_keycloak_http_5xx_total: h.errors,
    kf_keycloak_http_p95_seconds: 0.08,
    kf_keycloak_jvm_heap_used_bytes: 300_000_000,
    kf_keycloak_jvm_heap_max_bytes: 1_000_000_000,
    kf_keycloak_jvm_heap_live_bytes: 200_000_000,
    kf_keycloak_db_pool_active: 2,
    kf_keycloak_db_pool_available: 18,
    kf_keycloak_db_pool_awaiting: 0,
  };
  for (const d of disks) {
    series[v1.seriesKey('kf_host_disk_size_bytes', { mount: d.mount })] = d.sizeBytes;
    series[v1.seriesKey('kf_host_disk_used_bytes', { mount: d.mount })] = d.usedBytes;
  }
  for (const realm of ['master', 'app']) {
    series[v1.seriesKey('kf_keycloak_logins_total', { realm })] = h.logins;
    series[v1.seriesKey('kf_keycloak_login_failures_total', { realm, error: 'invalid_user_credentials' })] = h.failures;
  }
  nc.publish(v1.subjects.hub.metrics(h.id), v1.encode(v1.metrics, { kind: 'metrics', hostId: h.id, at, intervalSec: INTERVAL_MS / 1000, series }));
  if (h.hot && !h.hotReported) {
    h.hotReported = true;
    process.stdout.write(`hot ${h.id} ${now}\n`);
  }
}

// Hosts are in due order and stay so (each moves by the same interval): a cursor walks the ring.
let cursor = 0;
const tick = () => {
  const now = Date.now();
  for (let n = 0; n < hosts.length; n++) {
    const h = hosts[cursor]!;
    if (h.due > now) break;
    if (!h.stopped) report(h, now);
    h.due += INTERVAL_MS;
    cursor = (cursor + 1) % hosts.length;
  }
};
setInterval(tick, 50);

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { offline?: string[]; hot?: string[] };
  for (const id of cmd.offline ?? []) {
    const h = byId.get(id);
    if (!h) continue;
    h.stopped = true;
    process.stdout.write(`offline ${id} ${h.lastHeartbeatMs}\n`);
  }
  for (const id of cmd.hot ?? []) {
    const h = byId.get(id);
    if (h) h.hot = true;
  }
});
process.stdout.write(`ready ${count}\n`);
process.on('SIGTERM', () => void nc.close().then(() => process.exit(0)));
