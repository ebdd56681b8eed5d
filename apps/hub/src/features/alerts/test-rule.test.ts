import { seriesKey } from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { type TestBackend, testBackends } from '../../testing/test-database.js';
import type { AlertRule } from './alert-rule.js';
import type { AlertsRoutes } from './alerts-routes.js';
import { alertsDb } from './alerts-tables.js';
import { testRule } from './test-rule.js';

const S = 1000;
const MIN = 60 * S;

describe.each(testBackends)('alert-rules test over the last hour (%s)', (backend: TestBackend) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The end of the replayed hour: fixed, so every interval below is exact. */
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const iso = (ms: number) => ago(ms).toISOString();
  /** A host with a raw sample every 15 s over the last 55 minutes, its series a function of the sample's age, except where `skip` says. */
  const hostWithSamples = async (hostname: string, series: (agoMs: number) => Record<string, number>, skip = (_agoMs: number) => false) => {
    const hostId = await t.addHost({ hostname: `${hostname}-${backend}` });
    // Enrolled before its samples, as a real host is.
    await sql`UPDATE hosts SET enrolled_at = ${ago(2 * 60 * MIN)} WHERE id = ${hostId}`.execute(t.db);
    const rows = [];
    for (let a = 55 * MIN; a >= 0; a -= 15 * S) if (!skip(a)) rows.push({ host_id: hostId, at: ago(a).toISOString(), series: series(a) });
    await sql`
      INSERT INTO host_metrics (host_id, step_sec, at, series)
      SELECT r.host_id, 0, r.at, r.series FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(host_id text, at timestamptz, series jsonb)`.execute(
      t.db,
    );
    return hostId;
  };
  const rule = (r: Pick<AlertRule, 'name' | 'for' | 'condition'>): AlertRule => ({ severity: 'warning', enabled: true, ...r });

  it('a threshold rule with `for`: pending, then firing, then resolved; a breach shorter than `for` only pending', async () => {
    // CPU over 90 from 40 to 30 minutes ago (samples at 40:00 … 30:15 ago), and for two samples 20 minutes ago.
    const hot = (a: number) => (a <= 40 * MIN && a > 30 * MIN) || a === 20 * MIN || a === 20 * MIN - 15 * S;
    const hostId = await hostWithSamples('cpu', (a) => ({ kf_host_cpu_percent: hot(a) ? 95 + (a === 35 * MIN ? 4 : 0) : 10, kf_host_load1: 1 }));
    const cpu = rule({ name: 'cpu-high', for: 60, condition: { kind: 'threshold', metric: 'kf_host_cpu_percent', op: '>', value: 90 } });

    const [host] = await testRule(alertsDb(t.db), cpu, new Set([hostId]), now);
    expect(host).toMatchObject({ hostId, wouldFire: false });
    expect(host!.intervals).toEqual([
      // Fires on the first sample a minute into the breach; resolves on the first sample below it.
      { labels: {}, state: 'pending', from: iso(40 * MIN), to: iso(39 * MIN), value: 99 },
      { labels: {}, state: 'firing', from: iso(39 * MIN), to: iso(30 * MIN), value: 99 },
      { labels: {}, state: 'pending', from: iso(20 * MIN), to: iso(20 * MIN - 30 * S), value: 95 },
    ]);
  });

  it('host-offline from the gap in a host’s samples, never before the host enrolled; a login-failure burst by realm', async () => {
    // No sample from 30:00 to 25:15 ago: offline from 3 intervals after the last one (30:15 + 45 s) until 25:00 ago.
    const gappy = await hostWithSamples(
      'gappy',
      () => ({ kf_host_cpu_percent: 5 }),
      (a) => a <= 30 * MIN && a > 25 * MIN,
    );
    const [offline] = await testRule(alertsDb(t.db), rule({ name: 'host-offline', for: 0, condition: { kind: 'host-offline' } }), new Set([gappy]), now);
    expect(offline!.intervals).toEqual([{ labels: {}, state: 'firing', from: iso(30 * MIN + 15 * S - 45 * S), to: iso(25 * MIN), value: 1 }]);
    // A host enrolled ten minutes ago that never reported: offline since its enrollment (+3 intervals is the live rule's), not for the hour.
    const mute = await t.addHost({ hostname: `mute-${backend}` });
    await sql`UPDATE hosts SET enrolled_at = ${ago(10 * MIN)}, last_heartbeat_at = ${ago(10 * MIN)} WHERE id = ${mute}`.execute(t.db);
    const [never] = await testRule(alertsDb(t.db), rule({ name: 'host-offline', for: 0, condition: { kind: 'host-offline' } }), new Set([mute]), now);
    expect(never).toMatchObject({ wouldFire: true, intervals: [{ state: 'firing', from: iso(10 * MIN), to: null }] });

    // 20 more failures a sample from 9:45 to 8:00 ago in realm "shop", one more login a sample in both realms.
    const failures = (a: number) => (a >= 10 * MIN ? 0 : a >= 8 * MIN ? 20 * ((10 * MIN - a) / (15 * S)) : 160);
    const burst = await hostWithSamples('burst', (a) => {
      const n = (55 * MIN - a) / (15 * S);
      return {
        [seriesKey('kf_keycloak_logins_total', { realm: 'shop' })]: n,
        [seriesKey('kf_keycloak_login_failures_total', { realm: 'shop', error: 'invalid_user_credentials' })]: failures(a),
        [seriesKey('kf_keycloak_logins_total', { realm: 'master' })]: n,
        kf_host_cpu_percent: 5,
      };
    });
    const ratio = rule({
      name: 'login-failure-ratio',
      for: 0,
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
    });
    const [rates] = await testRule(alertsDb(t.db), ratio, new Set([burst]), now);
    // From the first sample of the burst (20 failures, 4 logins in the minute before) until the
    // first sample whose minute saw no failure (7:00 ago: its window starts at 8:00).
    expect(rates!.intervals).toEqual([{ labels: { realm: 'shop' }, state: 'firing', from: iso(9 * MIN + 45 * S), to: iso(7 * MIN), value: 80 / 84 }]);
    expect(rates!.wouldFire).toBe(false);
  });

  it('through the API: the replayed hour with each host’s intervals', async () => {
    const hostId = await hostWithSamples('api', (a) => ({ kf_host_memory_used_bytes: a < 5 * MIN ? 95 : 10, kf_host_memory_total_bytes: 100 }));
    const body = await expectStatus(
      t.client
        .as(t.adminToken)
        .routes<AlertsRoutes>('/v1')
        ['alert-rules'].test.$post({
          json: {
            host: hostId,
            rule: {
              name: 'mem',
              condition: { kind: 'threshold', metric: 'kf_host_memory_used_bytes', divideBy: 'kf_host_memory_total_bytes', op: '>', value: 0.9 },
            },
          },
        }),
      200,
    );
    expect(new Date(body.evaluatedAt).getTime() - new Date(body.since).getTime()).toBe(60 * MIN);
    expect(body.hosts).toHaveLength(1);
    // Still firing at the end of the hour: no `to`.
    expect(body.hosts[0]).toMatchObject({ wouldFire: true, intervals: [{ state: 'firing', from: iso(5 * MIN - 15 * S), to: null, value: 0.95 }] });
  });
});
