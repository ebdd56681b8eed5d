import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AgentProcess,
  createEnrollmentToken,
  enrollAgent,
  expectStatus,
  type Fleet,
  findBinary,
  type MetricsRoutes,
  repoRoot,
  startFleet,
} from '@keyfleet/test-harness';
import { fakeKeycloakManagement } from './fake-keycloak-management.js';
import { runCli } from './run-cli.js';

describe('metrics (real NATS, Postgres, hub and agent; a Keycloak-format /metrics)', () => {
  let fleet: Fleet;
  let agent: AgentProcess;
  const kc = fakeKeycloakManagement();

  beforeAll(async () => {
    await new Promise<void>((resolve) => kc.server.listen(0, '127.0.0.1', resolve));
    fleet = await startFleet({ hubEnv: { KEYFLEET_METRICS_RETENTION_MS: '1000' } });
    agent = await enrollAgent({
      hubUrl: fleet.hub.url,
      token: await createEnrollmentToken(fleet.api),
      labels: { env: 'e2e', 'topology.kubernetes.io/zone': 'eu-1a' },
      heartbeatIntervalMs: 1000,
      env: { KEYFLEET_METRICS_INTERVAL_MS: '500', KEYFLEET_METRICS_KEYCLOAK_URL: kc.url() },
    });
    await agent.start();
  });
  afterAll(async () => {
    await agent?.remove();
    await fleet?.stop();
    kc.server.close();
  });

  /** The metrics feature's routes, typed by their own route type, as the admin. */
  const metrics = () => fleet.api.routes<MetricsRoutes>('/v1');
  const historyOf = (id: string, query: { names?: string; since?: string; step?: string }) => metrics().hosts[':id'].metrics.$get({ param: { id }, query });

  it('history: host and Keycloak series arrive, counters as rates, bounded points', async () => {
    const names = 'kf_host_cpu_percent,kf_host_disk_used_bytes,kf_keycloak_logins_total,kf_keycloak_ready';
    const history = await vi.waitFor(
      async () => {
        kc.login(true);
        const h = await expectStatus(historyOf(agent.hostId, { names, since: '5m', step: '1s' }), 200);
        const logins = h.series.find((s) => s.key === 'kf_keycloak_logins_total{realm="demo"}');
        expect(logins?.points.length ?? 0, 'login rate points').toBeGreaterThanOrEqual(2);
        return h;
      },
      { timeout: 30_000, interval: 200 },
    );
    const byName = (n: string) => history.series.filter((s) => s.name === n);
    expect(byName('kf_host_cpu_percent')[0]?.kind).toBe('gauge');
    expect(byName('kf_host_disk_used_bytes').length).toBeGreaterThan(0);
    expect(byName('kf_keycloak_ready')[0]?.points.at(-1)?.[1]).toBe(1);
    const logins = byName('kf_keycloak_logins_total')[0];
    expect(logins?.kind).toBe('rate');
    expect(logins?.points.every(([, v]) => v >= 0)).toBe(true);
    // Only what was asked for.
    expect(history.series.every((s) => names.split(',').includes(s.name))).toBe(true);

    // A day at the finest step the hub allows stays under its point limit.
    const day = await expectStatus(historyOf(agent.hostId, { names: 'kf_host_cpu_percent', since: '1d', step: '1s' }), 200);
    expect(day.stepSec).toBeGreaterThanOrEqual(86);
    expect(day.series[0]?.points.length).toBeLessThanOrEqual(1000);

    // The CLI: a sparkline per series for people, the same history as JSON for scripts.
    const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
    const table = await cli('hosts', 'metrics', agent.hostId, '--name', 'kf_host_cpu_percent', '--name', 'kf_keycloak_logins_total', '--since', '5m');
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('kf_host_cpu_percent');
    expect(table.stdout).toContain('rate(kf_keycloak_logins_total{realm="demo"})');
    expect(table.stdout).toMatch(/[▁▂▃▄▅▆▇█]/);
    const json = await cli('-o', 'json', 'hosts', 'metrics', agent.hostId, '--name', 'kf_host_memory_used_bytes', '--since', '5m', '--step', '1s');
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).series[0].points.length).toBeGreaterThan(0);

    expect((await expectStatus(historyOf(agent.hostId, { since: 'yesterday' }), 400)).error).toContain('since');
    expect((await historyOf('h_nope', {})).status).toBe(404);
  });

  it('hosts top: one frame when not on a terminal, the same figures as JSON', async () => {
    const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
    type Row = { hostId: string; hostname: string; status: string; cpuPercent?: number; memoryPercent?: number; diskPercent?: number; loginsPerMin?: number };
    // Logins keep coming while the CLI is asked, so the last minute has some whatever the timing.
    const logins = setInterval(() => kc.login(true), 100);
    const row = await vi
      .waitFor(
        async () => {
          const out = await cli('-o', 'json', 'hosts', 'top');
          expect(out.status, out.stderr).toBe(0);
          const found = (JSON.parse(out.stdout) as { items: Row[] }).items.find((r) => r.hostId === agent.hostId);
          expect(found?.loginsPerMin ?? 0, 'logins per minute').toBeGreaterThan(0);
          return found!;
        },
        { timeout: 30_000, interval: 500 },
      )
      .finally(() => clearInterval(logins));
    expect(row).toMatchObject({ status: 'online', cpuPercent: expect.any(Number), memoryPercent: expect.any(Number), diskPercent: expect.any(Number) });
    expect(row.memoryPercent).toBeLessThanOrEqual(100);

    const plain = await cli('hosts', 'top');
    expect(plain.status, plain.stderr).toBe(0);
    const [header, ...lines] = plain.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^HOST\s+STATUS\s+CPU\s+MEM\s+DISK\s+LOGINS\/MIN\s+FAILS\/MIN\s+P95\s+CERT\s+BACKUP AGE$/);
    expect(lines.find((l) => l.startsWith(row.hostname))).toMatch(/online\s+\d+%\s+\d+%\s+\d+%/);
    // Piped: one frame, no screen control.
    expect(plain.stdout).not.toContain('\x1b[');
  });

  it('/v1/fleet/metrics: every series labelled with the host and its labels; promtool accepts it', async () => {
    kc.login(false);
    const text = await vi.waitFor(
      async () => {
        const r = await metrics().fleet.metrics.$get();
        expect(r.status).toBe(200);
        const body = await r.text();
        expect(body).toContain('kf_keycloak_login_failures_total{');
        return body;
      },
      { timeout: 30_000, interval: 200 },
    );
    const line = text.split('\n').find((l) => l.startsWith('kf_keycloak_login_failures_total{'))!;
    expect(line).toContain(`host="${agent.hostId}"`);
    expect(line).toContain('env="e2e"');
    expect(line).toContain('topology_kubernetes_io_zone="eu-1a"');
    expect(line).toContain('realm="demo"');
    expect(line).toContain('error="invalid_user_credentials"');
    expect(text).toMatch(new RegExp(`kf_host_up\\{[^}]*host="${agent.hostId}"[^}]*\\} 1`));
    expect(text).toContain('# TYPE kf_keycloak_logins_total counter');

    const promtool = findBinary('promtool', 'KEYFLEET_PROMTOOL', [], 'apt-get install prometheus');
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);

    const noToken = await fetch(`${fleet.hub.url}/v1/fleet/metrics`);
    expect(noToken.status).toBe(401);
  });

  it('retention: old samples fold into 5-minute rows and leave in batches', async () => {
    const psql = findBinary('psql', 'KEYFLEET_PG_BIN_DIR', ['/usr/lib/postgresql/15/bin'], 'apt-get install postgresql');
    const query = (q: string) => {
      const r = spawnSync(psql, ['-At', '-d', fleet.pg.url, '-c', q], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout.trim();
    };
    // Two samples in one 5-minute bucket two days ago: past the raw retention (24 h).
    const bucket = Math.floor((Date.now() / 1000 - 2 * 86_400) / 300) * 300;
    query(`INSERT INTO host_metrics (host_id, step_sec, at, series) VALUES
      ('${agent.hostId}', 0, to_timestamp(${bucket + 10}), '{"kf_host_cpu_percent": 10, "kf_keycloak_logins_total{realm=\\"demo\\"}": 100}'),
      ('${agent.hostId}', 0, to_timestamp(${bucket + 70}), '{"kf_host_cpu_percent": 30, "kf_keycloak_logins_total{realm=\\"demo\\"}": 160}')`);
    const folded = await vi.waitFor(
      () => {
        const raw = query(`SELECT count(*) FROM host_metrics WHERE host_id = '${agent.hostId}' AND step_sec = 0 AND at < now() - interval '1 day'`);
        const row = query(`SELECT series FROM host_metrics WHERE host_id = '${agent.hostId}' AND step_sec = 300 AND at = to_timestamp(${bucket})`);
        expect({ raw, folded: row !== '' }).toEqual({ raw: '0', folded: true });
        return JSON.parse(row) as unknown;
      },
      { timeout: 30_000, interval: 200 },
    );
    // Gauges averaged, counters their last value.
    expect(folded).toEqual({ kf_host_cpu_percent: 20, 'kf_keycloak_logins_total{realm="demo"}': 160 });
  });
});
