import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AgentProcess,
  type AlertsRoutes,
  createEnrollmentToken,
  enrollAgent,
  expectStatus,
  type Fleet,
  type MailpitServer,
  type MetricsRoutes,
  repoRoot,
  startFleet,
  startMailpit,
} from '@keyfleet/test-harness';
import { fakeKeycloakManagement } from './fake-keycloak-management.js';
import { runCli } from './run-cli.js';

const HMAC_KEY = 'test-hmac-key-0123456789';

/** What the hub posts to a webhook channel (a channel test carries no alert). */
interface WebhookBody {
  kind: string;
  transition?: 'firing' | 'resolved';
  alert?: { id: string; rule: string; hostId: string | null; hostname: string; labels: Record<string, string> };
}

/** A webhook receiver that records what it got; the first `failFirst` requests answer 500. */
function webhookReceiver(failFirst = 0) {
  const received: Array<{ body: WebhookBody; signatureOk: boolean; at: number }> = [];
  let failures = failFirst;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures > 0) {
        failures -= 1;
        return void res.writeHead(500).end('try later');
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const expected = `sha256=${createHmac('sha256', HMAC_KEY).update(raw).digest('hex')}`;
      received.push({ body: JSON.parse(raw) as WebhookBody, signatureOk: req.headers['x-keyfleet-signature'] === expected, at: Date.now() });
      res.writeHead(204).end();
    });
  });
  return { server, received, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

const listen = (s: Server) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));

describe('alerts (real NATS, Postgres, hub and agents; mailpit over STARTTLS; webhook receiver; a Keycloak-format /metrics)', () => {
  let fleet: Fleet;
  let mailpit: MailpitServer;
  /** The alerts feature's routes, typed by their own route type, as the admin. */
  const alerts = () => fleet.api.routes<AlertsRoutes>('/v1');
  /** vi.waitFor for what the hub does on its own schedule (evaluations, deliveries, retries). */
  const eventually = <T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeout = 30_000) =>
    vi.waitFor(
      async () => {
        const value = await check();
        expect(value, what).toBeDefined();
        return value as T;
      },
      { timeout, interval: 200 },
    );
  const kc = fakeKeycloakManagement();
  // The first two deliveries fail: the first alert is delivered on a retry.
  const hook = webhookReceiver(2);
  const agents: AgentProcess[] = [];
  const addAgent = async (labels: Record<string, string>) => {
    const agent = await enrollAgent({
      hubUrl: fleet.hub.url,
      token: await createEnrollmentToken(fleet.api),
      labels,
      heartbeatIntervalMs: 500,
      env: { KEYFLEET_METRICS_INTERVAL_MS: '500', KEYFLEET_METRICS_KEYCLOAK_URL: kc.url() },
    });
    agents.push(agent);
    await agent.start();
    await eventually(`${agent.hostId} online`, async () => {
      const host = await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: agent.hostId } }), 200);
      return host.status === 'online' ? host : undefined;
    });
    return agent;
  };
  const notificationsOf = async (alertId: string) => (await expectStatus(alerts()['alert-notifications'].$get({ query: { alert: alertId } }), 200)).items;
  const alertsIn = async (state: 'firing' | 'all') => (await expectStatus(alerts().alerts.$get({ query: { state } }), 200)).items;
  const alertOf = async (rule: string, hostId: string, state: 'firing' | 'all' = 'all') =>
    (await alertsIn(state)).find((a) => a.rule === rule && a.hostId === hostId);

  beforeAll(async () => {
    [mailpit] = await Promise.all([startMailpit({ starttls: true }), listen(kc.server), listen(hook.server)]);
    fleet = await startFleet({
      hubEnv: {
        KEYFLEET_ALERTS_EVAL_MS: '1000',
        KEYFLEET_ALERTS_DELIVERY_MS: '200',
        KEYFLEET_ALERTS_RETRY_BASE_MS: '200',
        KEYFLEET_PUBLIC_URL: 'https://keyfleet.example.test',
        // The mail server's certificate is from a throwaway CA: trusted the way an operator trusts a private one.
        NODE_EXTRA_CA_CERTS: mailpit.caFile,
      },
    });
    await expectStatus(fleet.api.api.v1.secrets[':name'].$put({ param: { name: 'alert-hmac' }, json: { value: HMAC_KEY } }), 200);
    await expectStatus(fleet.api.api.v1.secrets[':name'].$put({ param: { name: 'smtp-password' }, json: { value: mailpit.password } }), 200);
    await expectStatus(alerts().channels[':name'].$put({ param: { name: 'ops' }, json: { kind: 'webhook', url: hook.url(), secret: 'alert-hmac' } }), 200);
    await expectStatus(
      alerts().channels[':name'].$put({
        param: { name: 'mail' },
        json: {
          kind: 'email',
          host: '127.0.0.1',
          port: mailpit.smtpPort,
          security: 'starttls',
          username: mailpit.username,
          passwordSecret: 'smtp-password',
          from: 'keyfleet@example.test',
          to: ['oncall@example.test'],
        },
      }),
      200,
    );
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.remove()));
    await fleet?.stop();
    kc.server.close();
    hook.server.close();
    await mailpit?.stop();
  });

  it('bad rules are refused with the field; built-in rules are listed', async () => {
    // Rules the API's types rule out: only raw requests send them.
    const base = { name: 'x', condition: { kind: 'threshold', metric: 'kf_host_cpu_percent', op: '>', value: 90 } };
    const putRule = (body: unknown) => fleet.api.raw('PUT', '/v1/alert-rules/x', { body });
    const unknown = await putRule({ ...base, condition: { ...base.condition, metric: 'kf_host_cpu_pct' } });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ error: expect.stringMatching(/condition\.metric.*unknown metric/) });
    const badFor = await putRule({ ...base, for: '5 minutes' });
    expect(badFor.status).toBe(400);
    expect(badFor.json).toMatchObject({ error: expect.stringContaining('for') });
    const badMatcher = await putRule({ ...base, selector: { 'bad label!': 'x' } });
    expect(badMatcher.status).toBe(400);
    expect(badMatcher.json).toMatchObject({ error: expect.stringContaining('selector') });

    // The CLI reads YAML; the hub names the bad field.
    const dir = mkdtempSync(join(tmpdir(), 'kf-rules-'));
    const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
    writeFileSync(join(dir, 'bad.yaml'), 'name: cpu-hot\ncondition:\n  kind: threshold\n  metric: kf_cpu\n  op: ">"\n  value: 90\n');
    const bad = await cli('alert-rules', 'apply', join(dir, 'bad.yaml'));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('condition.metric');
    writeFileSync(
      join(dir, 'good.yaml'),
      'name: cpu-hot\nseverity: info\nfor: 10m\ncondition:\n  kind: threshold\n  metric: kf_host_cpu_percent\n  op: ">"\n  value: 95\n',
    );
    const good = await cli('-o', 'json', 'alert-rules', 'apply', join(dir, 'good.yaml'));
    expect(good.status, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ name: 'cpu-hot', version: 1 });
    const listed = await cli('alert-rules', 'list');
    expect(listed.stdout).toContain('cpu-hot');
    expect((await cli('channels', 'list')).stdout).toContain('ops');
    // Channels of every kind from the CLI: a test mail goes out; a Slack channel comes and goes.
    const tested = await cli('channels', 'test', 'mail');
    expect(tested.status, tested.stderr).toBe(0);
    await eventually('the test mail', async () => (await mailpit.messages()).find((m) => m.Subject === 'Keyfleet test notification for channel mail'));
    const added = await cli('channels', 'add', 'chat', '--kind', 'slack', '--url-secret', 'slack-url');
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain('slack (URL in secret slack-url)');
    expect((await cli('channels', 'delete', 'chat')).status).toBe(0);
    expect((await expectStatus(alerts().channels.$get(), 200)).items.map((c) => c.name)).not.toContain('chat');

    const rules = (await expectStatus(alerts()['alert-rules'].$get(), 200)).items.map((r) => r.name);
    expect(rules).toEqual(
      expect.arrayContaining([
        'host-offline',
        'disk-full',
        'memory-high',
        'keycloak-not-ready',
        'login-failure-ratio',
        'certificate-expiry',
        'backup-too-old',
        'backup-unverified',
        'backup-drill-failed',
        'agent-version-skew',
      ]),
    );
  });

  it('a login-failure burst fires once, delivered signed after retries; it stops and resolves once', async () => {
    // A short window so the test sees the resolve; the built-in rule looks at a minute.
    const applied = await expectStatus(
      alerts()['alert-rules'][':name'].$put({
        param: { name: 'login-failure-ratio' },
        json: {
          name: 'login-failure-ratio',
          severity: 'warning',
          condition: {
            kind: 'rate-ratio',
            numerator: 'kf_keycloak_login_failures_total',
            denominator: ['kf_keycloak_login_failures_total', 'kf_keycloak_logins_total'],
            by: 'realm',
            window: '5s',
            minCount: 10,
            op: '>',
            value: 0.5,
          },
        },
      }),
      200,
    );
    expect(applied.version).toBe(2);

    // The receiver refuses its first two requests: the test message says so, the alert is retried.
    const test = await expectStatus(alerts().channels[':name'].test.$post({ param: { name: 'ops' } }), 200);
    expect(test).toMatchObject({ ok: false, error: expect.stringContaining('500') });

    const agent = await addAgent({ env: 'e2e' });
    // Samples flow before the burst, so the rate has a start.
    await eventually('a sample', async () => {
      const history = await expectStatus(
        fleet.api
          .routes<MetricsRoutes>('/v1')
          .hosts[':id'].metrics.$get({ param: { id: agent.hostId }, query: { names: 'kf_keycloak_ready', since: '1m', step: '1s' } }),
        200,
      );
      return (history.series[0]?.points.length ?? 0) > 1 ? history : undefined;
    });
    // A rule from a file, tried on the host's current data from the CLI; nothing is stored or sent.
    const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
    const file = join(mkdtempSync(join(tmpdir(), 'kf-rule-test-')), 'memory.yaml');
    writeFileSync(
      file,
      'name: memory-used\ncondition:\n  kind: threshold\n  metric: kf_host_memory_used_bytes\n  divideBy: kf_host_memory_total_bytes\n  op: ">"\n  value: 0\n',
    );
    const fromFile = await cli('alert-rules', 'test', file, '--host', agent.hostId);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toMatch(/yes +kf_host_memory_used_bytes \/ kf_host_memory_total_bytes = [\d.]+, breaches > 0/);
    const burstAt = Date.now();
    kc.login(false, 20);
    const firing = await eventually('the login-failure alert to be delivered', () =>
      hook.received.find((r) => r.body.kind === 'keyfleet.alert' && r.body.alert?.rule === 'login-failure-ratio' && r.body.transition === 'firing'),
    );
    const firingAlert = firing.body.alert!;
    const detectionMs = firing.at - burstAt;
    console.log(`login-failure burst → signed webhook delivery: ${detectionMs} ms`);
    expect(detectionMs).toBeLessThan(30_000);
    expect(firing.signatureOk).toBe(true);
    expect(firingAlert.labels).toEqual({ realm: 'demo' });
    expect(firingAlert.hostId).toBe(agent.hostId);
    // The same alert by mail, over STARTTLS with the password from the secret store.
    const mail = await eventually('the firing mail', async () =>
      (await mailpit.messages()).find((m) => m.Subject === `[FIRING warning] login-failure-ratio on ${firingAlert.hostname}`),
    );
    expect(mail.To.map((r) => r.Address)).toEqual(['oncall@example.test']);
    expect(mail.Text).toContain(`${firingAlert.hostname} (${agent.hostId})`);
    expect(mail.Text).toMatch(/Rule: +login-failure-ratio/);
    expect(mail.Text).toMatch(/Severity: +warning/);
    expect(mail.Text).toContain(`https://keyfleet.example.test/v1/alerts/${firingAlert.id}`);

    // The burst is over: after the window the ratio has nothing to say, and the alert resolves.
    const resolved = await eventually('the resolve notification', () =>
      hook.received.find((r) => r.body.transition === 'resolved' && r.body.alert?.id === firingAlert.id),
    );
    expect(resolved.signatureOk).toBe(true);
    await eventually('the resolve mail', async () =>
      (await mailpit.messages()).find((m) => m.Subject === `[RESOLVED warning] login-failure-ratio on ${firingAlert.hostname}`),
    );
    const log = await notificationsOf(firingAlert.id);
    expect(log.map((n) => `${n.channel}:${n.transition}:${n.state}`).sort()).toEqual([
      'mail:firing:sent',
      'mail:resolved:sent',
      'ops:firing:sent',
      'ops:resolved:sent',
    ]);
    // The second refusal was the alert's first attempt.
    expect(log.find((n) => n.transition === 'firing' && n.channel === 'ops')?.attempts).toBe(2);
    expect(hook.received.filter((r) => r.body.alert?.id === firingAlert.id)).toHaveLength(2);
  });

  it('agent killed → host-offline fires once; a silence suppresses its notification; ack is audited', async () => {
    const loud = await addAgent({ env: 'e2e', role: 'loud' });
    const quiet = await addAgent({ env: 'e2e', role: 'quiet' });
    await expectStatus(alerts().silences.$post({ json: { matchers: { rule: 'host-offline', role: 'quiet' }, comment: 'maintenance', duration: '1h' } }), 201);

    await loud.kill('SIGKILL');
    await quiet.kill('SIGKILL');
    const killedAt = Date.now();
    const delivered = await eventually('the host-offline notification', () =>
      hook.received.find((r) => r.body.alert?.rule === 'host-offline' && r.body.alert.hostId === loud.hostId),
    );
    // Offline after 3 missed 500 ms heartbeats; the stated bound is 60 s after that deadline.
    console.log(`agent killed → host-offline delivered: ${delivered.at - killedAt} ms`);
    expect(delivered.at - killedAt).toBeLessThan(60_000);

    // What a stored rule would say now, from the CLI; nothing is stored or sent.
    const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
    const byName = await cli('alert-rules', 'test', 'host-offline', '--host', loud.hostId);
    expect(byName.status, byName.stderr).toBe(0);
    expect(byName.stdout).toMatch(/yes +missed 3 heartbeats: offline/);
    expect(byName.stdout).toContain('host-offline: 1 of 1 host(s) would fire');
    const quietAlert = await eventually('the silenced host to be alerting too', async () => {
      const a = await alertOf('host-offline', quiet.hostId, 'firing');
      return a && (await notificationsOf(a.id)).every((n) => n.state === 'silenced') && (await notificationsOf(a.id)).length > 0 ? a : undefined;
    });
    // The silenced alert fired after the loud one was delivered: evaluations and deliveries went
    // on since, and still one alert and one delivery for the loud host.
    expect(hook.received.filter((r) => r.body.alert?.rule === 'host-offline' && r.body.alert.hostId === loud.hostId)).toHaveLength(1);
    expect(hook.received.some((r) => r.body.alert?.hostId === quiet.hostId)).toBe(false);
    expect((await alertsIn('all')).filter((a) => a.rule === 'host-offline' && a.hostId === loud.hostId)).toHaveLength(1);

    const ack = await expectStatus(alerts().alerts[':id'].ack.$post({ param: { id: quietAlert.id }, json: { note: 'planned reboot' } }), 200);
    expect(ack.ackedBy).toBeTruthy();
    expect(ack.ackNote).toBe('planned reboot');
    const audit = await expectStatus(fleet.api.api.v1.audit.$get({ query: { action: 'alerts.ack' } }), 200);
    expect(audit.items.some((e) => e.target === quietAlert.id)).toBe(true);
  });

  it('a channel that keeps failing is retried, then marked failed with its error; evaluation goes on', async () => {
    const dead = createServer();
    await listen(dead);
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/gone`;
    await new Promise((r) => dead.close(r));
    await expectStatus(alerts().channels[':name'].$put({ param: { name: 'dead' }, json: { kind: 'webhook', url: deadUrl } }), 200);
    expect((await expectStatus(alerts().channels[':name'].test.$post({ param: { name: 'dead' } }), 200)).ok).toBe(false);

    const agent = await addAgent({ env: 'e2e', role: 'doomed' });
    await agent.kill('SIGKILL');
    const failed = await eventually(
      'the dead channel’s delivery to fail for good',
      async () => {
        const a = await alertOf('host-offline', agent.hostId);
        const n = a && (await notificationsOf(a.id)).find((x) => x.channel === 'dead');
        return n?.state === 'failed' ? n : undefined;
      },
      45_000,
    );
    expect(failed.attempts).toBe(5);
    expect(failed.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    // The channel itself shows its failure.
    const listed = await runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, 'channels', 'list');
    expect(listed.stdout.split('\n').find((l) => l.startsWith('dead '))).toMatch(/ECONNREFUSED/);
    // The other channel still got it.
    await eventually('the working channel’s delivery', () => hook.received.find((r) => r.body.alert?.hostId === agent.hostId));
    // Many evaluations later, the first offline host was still notified once.
    const firstOffline = hook.received.filter((r) => r.body.alert?.rule === 'host-offline' && r.body.transition === 'firing');
    expect(new Set(firstOffline.map((r) => r.body.alert?.id)).size).toBe(firstOffline.length);
  });
});
