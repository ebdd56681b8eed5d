import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type MailpitServer, startMailpit } from '@keyfleet/test-harness';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { type TestBackend, testBackends } from '../../testing/test-database.js';
import { deliverDue, MAX_ATTEMPTS } from './alert-delivery.js';
import { applyObservations } from './alert-lifecycle.js';
import type { AlertRule } from './alert-rule.js';
import type { AlertsRoutes } from './alerts-routes.js';
import { alertsDb } from './alerts-tables.js';

const SMTP_PASSWORD_SECRET = 'smtp-password';

// One mail server and one stand-in for Slack (unreachable from here) for both backends: each
// suite's messages name its own host.
let mailpit: MailpitServer;
/** What the Slack stand-in received: path and JSON body. A path under /gone answers 404 as Slack does for a removed hook. */
const slackPosts: Array<{ path: string; body: { text: string; blocks?: Array<Record<string, unknown>> } }> = [];
const slack = createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => {
    raw += c;
  });
  req.on('end', () => {
    if (req.url?.startsWith('/gone')) return void res.writeHead(404).end('no_service');
    slackPosts.push({ path: req.url ?? '', body: JSON.parse(raw) });
    res.writeHead(200).end('ok');
  });
});
const slackUrl = (path: string) => `http://127.0.0.1:${(slack.address() as AddressInfo).port}${path}`;
beforeAll(async () => {
  [mailpit] = await Promise.all([startMailpit(), new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve))]);
});
afterAll(async () => {
  slack.close();
  await mailpit?.stop();
});

describe.each(testBackends)('alert channels through the API (%s)', (backend: TestBackend) => {
  let t: TestContext;
  const alerts = () => t.client.as(t.adminToken).routes<AlertsRoutes>('/v1');
  const emailChannel = (passwordSecret: string) => ({
    kind: 'email' as const,
    host: mailpit.smtpHost,
    port: mailpit.smtpPort,
    // mailpit here speaks plain SMTP on loopback; STARTTLS is proven by the e2e test.
    security: 'none' as const,
    username: mailpit.username,
    passwordSecret,
    from: 'keyfleet@example.com',
    to: ['ops@example.com'],
  });
  /** A firing alert of `rule` on a new host, with its notifications queued to `channel`. */
  const fire = async (hostname: string, rule: AlertRule, channel: string) => {
    const hostId = await t.addHost({ hostname });
    await applyObservations(alertsDb(t.db), rule, { id: hostId, hostname }, [{ labels: { mount: '/data' }, value: 0.93, active: true }], async () => [channel]);
    return hostId;
  };
  const mailsAbout = async (hostname: string) => (await mailpit.messages()).filter((m) => m.Subject.includes(hostname));

  beforeAll(async () => {
    t = await createTestContext(backend);
    await t.secrets.put(SMTP_PASSWORD_SECRET, mailpit.password, 'test');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an email channel keeps its password in the secret store; test and alert mails name host, rule and severity', async () => {
    const stored = await expectStatus(alerts().channels[':name'].$put({ param: { name: 'mail' }, json: emailChannel(SMTP_PASSWORD_SECRET) }), 200);
    expect(stored).toMatchObject({ kind: 'email', secrets: [SMTP_PASSWORD_SECRET], target: `ops@example.com via 127.0.0.1:${mailpit.smtpPort}` });
    const listed = JSON.stringify(await expectStatus(alerts().channels.$get(), 200));
    const row = JSON.stringify(await alertsDb(t.db).selectFrom('alert_channels').selectAll().execute());
    for (const text of [listed, row]) expect(text).not.toContain(mailpit.password);

    expect(await expectStatus(alerts().channels[':name'].test.$post({ param: { name: 'mail' } }), 200)).toEqual({ ok: true });

    const hostname = `kc-mail-${backend}`;
    const rule: AlertRule = {
      name: 'disk-full',
      severity: 'critical',
      for: 0,
      enabled: true,
      condition: { kind: 'threshold', metric: 'kf_host_disk_used_bytes', op: '>', value: 0.85 },
    };
    await fire(hostname, rule, 'mail');
    await deliverDue(alertsDb(t.db), t.secrets);
    const [mail] = await mailsAbout(hostname);
    expect(mail?.Subject).toBe(`[FIRING critical] disk-full on ${hostname}`);
    expect(mail?.To.map((r) => r.Address)).toEqual(['ops@example.com']);
    expect(mail?.Text).toContain(`disk-full on ${hostname} (mount=/data): 0.93`);
    expect(mail?.Text).toMatch(/Severity: +critical/);
    expect(mail?.Text).toMatch(/Labels: +mount=\/data/);
    const channel = (await expectStatus(alerts().channels.$get(), 200)).items.find((c) => c.name === 'mail');
    expect(channel).toMatchObject({ lastError: null, lastSentAt: expect.any(String) });
  });

  it('mail that cannot be delivered is retried with backoff, then failed; the channel shows the error', async () => {
    await t.secrets.put('smtp-wrong', 'not-the-password', 'test');
    await expectStatus(alerts().channels[':name'].$put({ param: { name: 'bad-mail' }, json: emailChannel('smtp-wrong') }), 200);
    const refused = await expectStatus(alerts().channels[':name'].test.$post({ param: { name: 'bad-mail' } }), 200);
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/auth|535/i) });

    const hostname = `kc-nomail-${backend}`;
    const rule: AlertRule = { name: 'host-offline', severity: 'critical', for: 0, enabled: true, condition: { kind: 'host-offline' } };
    const hostId = await fire(hostname, rule, 'bad-mail');
    const db = alertsDb(t.db);
    const notification = () =>
      db
        .selectFrom('alert_notifications')
        .innerJoin('alerts', 'alerts.id', 'alert_notifications.alert_id')
        .selectAll('alert_notifications')
        .where('alerts.host_id', '=', hostId)
        .executeTakeFirstOrThrow();

    const before = Date.now();
    await deliverDue(db, t.secrets);
    const first = await notification();
    expect(first).toMatchObject({ state: 'pending', attempts: 1, last_error: expect.stringMatching(/auth|535/i) });
    // Backoff: the next attempt is not due yet, so delivering again leaves it alone.
    expect(new Date(first.next_attempt_at).getTime()).toBeGreaterThan(before);
    await deliverDue(db, t.secrets);
    expect((await notification()).attempts).toBe(1);
    const channel = (await expectStatus(alerts().channels.$get(), 200)).items.find((c) => c.name === 'bad-mail');
    expect(channel).toMatchObject({ lastError: expect.stringMatching(/auth|535/i), lastErrorAt: expect.any(String), lastSentAt: null });

    // Each later attempt waits longer; after the last one the notification is failed for good.
    let previousWait = 0;
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      const { next_attempt_at, created_at } = await notification();
      const wait = new Date(next_attempt_at).getTime() - Date.now();
      expect(wait).toBeGreaterThan(previousWait - 1000);
      previousWait = wait;
      // Time passes for this notification only (its due time moves to now), not for the test.
      await db
        .updateTable('alert_notifications')
        .set({ next_attempt_at: new Date(created_at) })
        .where('id', '=', first.id)
        .execute();
      await deliverDue(db, t.secrets);
    }
    expect(await notification()).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS });
    expect(await mailsAbout(hostname)).toEqual([]);
  });

  it('a Slack channel keeps its URL in the secret store and posts blocks naming severity, host, rule and a link', async () => {
    const hookPath = `/services/T0/B0/${backend}-secret-part`;
    await t.secrets.put('slack-url', slackUrl(hookPath), 'test');
    const stored = await expectStatus(alerts().channels[':name'].$put({ param: { name: 'chat' }, json: { kind: 'slack', urlSecret: 'slack-url' } }), 200);
    expect(stored).toMatchObject({ kind: 'slack', secrets: ['slack-url'], target: 'slack (URL in secret slack-url)' });
    const listed = JSON.stringify(await expectStatus(alerts().channels.$get(), 200));
    expect(listed).not.toContain('secret-part');

    const hostname = `kc-slack-${backend}`;
    const rule: AlertRule = {
      name: 'keycloak-not-ready',
      severity: 'critical',
      for: 0,
      enabled: true,
      condition: { kind: 'threshold', metric: 'kf_keycloak_ready', op: '<', value: 1 },
    };
    const saved = process.env.KEYFLEET_PUBLIC_URL;
    process.env.KEYFLEET_PUBLIC_URL = 'https://keyfleet.example.test/';
    try {
      const hostId = await fire(hostname, rule, 'chat');
      await deliverDue(alertsDb(t.db), t.secrets);
      const post = slackPosts.find((p) => p.path === hookPath && p.body.text.includes(hostname));
      expect(post?.body.text).toContain(`[FIRING critical] keycloak-not-ready on ${hostname}`);
      const blocks = JSON.stringify(post?.body.blocks);
      for (const field of ['*Severity*\\ncritical', `*Host*\\n${hostname} (${hostId})`, '*Rule*\\nkeycloak-not-ready']) expect(blocks).toContain(field);
      const alert = (await expectStatus(alerts().alerts.$get({ query: { state: 'firing' } }), 200)).items.find((a) => a.hostId === hostId);
      const button = post?.body.blocks?.find((b) => b.type === 'actions') as { elements: Array<{ url: string }> } | undefined;
      expect(button?.elements[0]?.url).toBe(`https://keyfleet.example.test/v1/alerts/${alert?.id}`);
      // The link answers with the alert.
      expect(await expectStatus(alerts().alerts[':id'].$get({ param: { id: alert!.id } }), 200)).toMatchObject({ rule: 'keycloak-not-ready', hostname });
    } finally {
      process.env.KEYFLEET_PUBLIC_URL = saved;
    }

    // A hook Slack removed: the error names Slack's answer, never the URL.
    await t.secrets.put('slack-gone', slackUrl('/gone/T0/B0/secret-part'), 'test');
    await expectStatus(alerts().channels[':name'].$put({ param: { name: 'chat-gone' }, json: { kind: 'slack', urlSecret: 'slack-gone' } }), 200);
    const refused = await expectStatus(alerts().channels[':name'].test.$post({ param: { name: 'chat-gone' } }), 200);
    expect(refused).toEqual({ ok: false, error: 'Slack answered 404: no_service' });
  });

  it('channels test works for every kind; delete removes a channel', async () => {
    await t.secrets.put('slack-test', slackUrl('/services/test'), 'test');
    await expectStatus(alerts().channels[':name'].$put({ param: { name: 't-webhook' }, json: { kind: 'webhook', url: slackUrl('/plain-hook') } }), 200);
    await expectStatus(alerts().channels[':name'].$put({ param: { name: 't-slack' }, json: { kind: 'slack', urlSecret: 'slack-test' } }), 200);
    await expectStatus(alerts().channels[':name'].$put({ param: { name: 't-email' }, json: emailChannel(SMTP_PASSWORD_SECRET) }), 200);
    for (const name of ['t-webhook', 't-slack', 't-email'])
      expect(await expectStatus(alerts().channels[':name'].test.$post({ param: { name } }), 200), name).toEqual({ ok: true });
    expect(slackPosts.filter((p) => p.path === '/plain-hook').at(-1)?.body).toMatchObject({ kind: 'keyfleet.test', channel: 't-webhook' });
    expect(slackPosts.filter((p) => p.path === '/services/test').at(-1)?.body.text).toBe('Keyfleet test notification for channel t-slack');
    expect((await mailpit.messages()).some((m) => m.Subject === 'Keyfleet test notification for channel t-email')).toBe(true);

    const deleted = await expectStatus(alerts().channels[':name'].$delete({ param: { name: 't-slack' } }), 200);
    expect(deleted.name).toBe('t-slack');
    expect((await expectStatus(alerts().channels.$get(), 200)).items.map((c) => c.name)).not.toContain('t-slack');
    await expectStatus(alerts().channels[':name'].test.$post({ param: { name: 't-slack' } }), 404);
    await expectStatus(alerts().channels[':name'].$delete({ param: { name: 't-slack' } }), 404);
    // Only an admin deletes channels.
    const operator = await t.tokenFor('operator');
    await expectStatus(
      t.client
        .as(operator)
        .routes<AlertsRoutes>('/v1')
        .channels[':name'].$delete({ param: { name: 't-email' } }),
      403,
    );
  });

  it('alert-rules test: which hosts would fire and why, for a stored rule or a given one, storing and sending nothing', async () => {
    const db = alertsDb(t.db);
    const sample = (hostId: string, secondsAgo: number, series: Record<string, number>) =>
      sql`INSERT INTO host_metrics (host_id, step_sec, at, series) VALUES (${hostId}, 0, ${new Date(Date.now() - secondsAgo * 1000)}, ${JSON.stringify(series)}::jsonb)`.execute(
        db,
      );
    const full = await t.addHost({ hostname: `kc-full-${backend}`, labels: { role: 'rule-test' } });
    const roomy = await t.addHost({ hostname: `kc-roomy-${backend}`, labels: { role: 'rule-test' } });
    const silent = await t.addHost({ hostname: `kc-silent-${backend}`, labels: { role: 'rule-test' } });
    await sample(full, 30, { 'kf_host_disk_used_bytes{mount="/"}': 95, 'kf_host_disk_size_bytes{mount="/"}': 100 });
    await sample(roomy, 30, { 'kf_host_disk_used_bytes{mount="/"}': 40, 'kf_host_disk_size_bytes{mount="/"}': 100 });
    // Older than the hour: not current data.
    await sample(silent, 7200, { 'kf_host_disk_used_bytes{mount="/"}': 99, 'kf_host_disk_size_bytes{mount="/"}': 100 });
    const diskRule = {
      name: 'disk-test',
      for: '5m',
      selector: { role: 'rule-test' },
      condition: {
        kind: 'threshold' as const,
        metric: 'kf_host_disk_used_bytes' as const,
        divideBy: 'kf_host_disk_size_bytes' as const,
        op: '>' as const,
        value: 0.85,
      },
    };
    await expectStatus(alerts()['alert-rules'][':name'].$put({ param: { name: 'disk-test' }, json: diskRule }), 200);
    const alertsBefore = await db.selectFrom('alerts').select('id').execute();

    const byName = await expectStatus(alerts()['alert-rules'].test.$post({ json: { name: 'disk-test' } }), 200);
    expect(byName).toMatchObject({ rule: 'disk-test', for: 300 });
    const host = (id: string) => byName.hosts.find((h) => h.hostId === id);
    expect(host(full)).toMatchObject({
      wouldFire: true,
      observations: [
        { labels: { mount: '/' }, value: 0.95, active: true, reason: 'kf_host_disk_used_bytes / kf_host_disk_size_bytes{mount="/"} = 0.95, breaches > 0.85' },
      ],
    });
    expect(host(roomy)).toMatchObject({ wouldFire: false, observations: [{ active: false, reason: expect.stringContaining('= 0.4, within > 0.85') }] });
    expect(host(silent)).toMatchObject({ wouldFire: false, observations: [], note: 'no metric sample in the last hour' });
    expect(byName.hosts).toHaveLength(3);

    // A rule that is not stored, on one host by hostname; a rate starts at the oldest sample of its window.
    await sample(full, 50, { 'kf_keycloak_login_failures_total{realm="demo"}': 10, 'kf_keycloak_logins_total{realm="demo"}': 10 });
    await sample(full, 5, { 'kf_keycloak_login_failures_total{realm="demo"}': 40, 'kf_keycloak_logins_total{realm="demo"}': 12 });
    const given = await expectStatus(
      alerts()['alert-rules'].test.$post({
        json: {
          host: `kc-full-${backend}`,
          rule: {
            name: 'burst',
            condition: {
              kind: 'rate-ratio',
              numerator: 'kf_keycloak_login_failures_total',
              denominator: ['kf_keycloak_login_failures_total', 'kf_keycloak_logins_total'],
              by: 'realm',
              window: '1m',
              op: '>',
              value: 0.5,
            },
          },
        },
      }),
      200,
    );
    expect(given.hosts).toEqual([
      {
        hostId: full,
        hostname: `kc-full-${backend}`,
        wouldFire: true,
        observations: [
          {
            labels: { realm: 'demo' },
            value: 30 / 32,
            active: true,
            reason: expect.stringMatching(/^increase\(kf_keycloak_login_failures_total\).* = 0.9375, breaches > 0.5$/),
          },
        ],
        // Over the hour: firing since the burst's sample, still open (test-rule.test.ts replays whole hours).
        intervals: [{ labels: { realm: 'demo' }, state: 'firing', from: expect.any(String), to: null, value: 30 / 32 }],
      },
    ]);

    // Nothing was stored or queued.
    expect(await db.selectFrom('alerts').select('id').execute()).toEqual(alertsBefore);
    expect((await db.selectFrom('alert_rules').select('name').execute()).map((r) => r.name)).not.toContain('burst');
    await expectStatus(alerts()['alert-rules'].test.$post({ json: { name: 'no-such-rule' } }), 404);
    await expectStatus(alerts()['alert-rules'].test.$post({ json: { name: 'disk-test', host: 'no-such-host' } }), 404);
    const neither = await t.raw('POST', '/v1/alert-rules/test', { token: t.adminToken, body: { host: 'x' } });
    expect(neither.status).toBe(400);
  });

  it('built-in fact rules read certificates, the backup catalog and agent versions: expiry, backup age, failed drill, version skew', async () => {
    const db = alertsDb(t.db);
    const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000);
    const certHost = await t.addHost({ hostname: `kc-cert-${backend}` });
    const backupHost = await t.addHost({ hostname: `kc-backup-${backend}` });
    const oldAgent = await t.addHost({ hostname: `kc-old-agent-${backend}` });
    const cert = (id: string, domain: string, daysLeft: number) =>
      sql`INSERT INTO certificates (id, host_id, domains, issuer, challenge, key_type, http01_port, https_port, reload_period, state, not_after, served_not_after, created_by)
          VALUES (${`${id}-${backend}`}, ${certHost}, ${JSON.stringify([domain])}::jsonb, '{"kind":"internal"}'::jsonb, 'http-01', 'ecdsa-p256', 80, 8443, '1m', 'valid',
                  ${ago(-24 * 90)}, ${ago(-24 * daysLeft)}, 'test')`.execute(db);
    await cert('crt-soon', 'sso.example.test', 5);
    await cert('crt-fine', 'login.example.test', 60);
    const backup = (id: string, state: string, finishedHoursAgo: number, drill?: { ok: boolean; at: Date }) =>
      sql`INSERT INTO backups (id, host_id, state, started_at, finished_at, recipients, storage_kind, storage_key, last_drill)
          VALUES (${`${id}-${backend}`}, ${backupHost}, ${state}, ${ago(finishedHoursAgo + 0.1)}, ${ago(finishedHoursAgo)}, '[]'::jsonb, 'local', ${id},
                  ${drill ? JSON.stringify({ ok: drill.ok, taskId: 't', hostId: backupHost, at: drill.at.toISOString() }) : null}::jsonb)`.execute(db);
    await backup('bk-old', 'stored', 30, { ok: true, at: ago(29) });
    await backup('bk-older', 'stored', 54, { ok: false, at: ago(20) });
    await db.updateTable('hosts').set({ agent_version: '0.0.9' }).where('id', '=', oldAgent).execute();

    const test = async (rule: Record<string, unknown>, host: string) =>
      (
        await expectStatus(
          // biome-ignore lint/suspicious/noExplicitAny: the built-ins' specs, as an operator would send them
          alerts()['alert-rules'].test.$post({ json: { rule: rule as any, host } }),
          200,
        )
      ).hosts;
    const [certs] = await test({ name: 'certificate-expiry', condition: { kind: 'certificate-expiry', days: 14 } }, certHost);
    expect(certs?.wouldFire).toBe(true);
    const soon = certs?.observations.find((o) => o.labels.domain === 'sso.example.test');
    expect(soon).toMatchObject({ active: true, reason: expect.stringMatching(/^certificate for sso.example.test expires in (4\.9\d*|5) days, under 14$/) });
    expect(certs?.observations.find((o) => o.labels.domain === 'login.example.test')).toMatchObject({ active: false });

    const [stale] = await test({ name: 'backup-too-old', condition: { kind: 'backup-age', of: 'stored', maxAge: '26h' } }, backupHost);
    expect(stale).toMatchObject({
      wouldFire: true,
      observations: [{ active: true, reason: expect.stringMatching(/^newest stored backup is 30(\.\d+)? h old, over 26 h$/) }],
    });
    // Never verified: as old as its first backup (54 h), within 8 days.
    const [unverified] = await test({ name: 'backup-unverified', condition: { kind: 'backup-age', of: 'verified', maxAge: '192h' } }, backupHost);
    expect(unverified).toMatchObject({ wouldFire: false, observations: [{ active: false }] });
    // The newest drill (20 h ago, of the older backup) failed.
    const [drill] = await test({ name: 'backup-drill-failed', condition: { kind: 'backup-drill-failed' } }, backupHost);
    expect(drill).toMatchObject({ wouldFire: true, observations: [{ reason: 'the last restore drill failed' }] });
    // A host without backups is not behind on them.
    const [noBackups] = await test({ name: 'backup-too-old', condition: { kind: 'backup-age', maxAge: '26h' } }, certHost);
    expect(noBackups).toMatchObject({ wouldFire: false, observations: [], note: 'nothing to observe for backup-age' });

    const saved = process.env.KEYFLEET_AGENT_VERSION;
    process.env.KEYFLEET_AGENT_VERSION = '0.1.0';
    try {
      const [skewed] = await test({ name: 'agent-version-skew', condition: { kind: 'agent-version-skew' } }, oldAgent);
      expect(skewed).toMatchObject({ wouldFire: true, observations: [{ labels: { version: '0.0.9', wanted: '0.1.0' }, reason: 'agent 0.0.9, behind 0.1.0' }] });
      const [current] = await test({ name: 'agent-version-skew', condition: { kind: 'agent-version-skew' } }, certHost);
      expect(current).toMatchObject({ wouldFire: false, observations: [{ reason: 'agent 0.1.0, at 0.1.0' }] });
    } finally {
      if (saved === undefined) delete process.env.KEYFLEET_AGENT_VERSION;
      else process.env.KEYFLEET_AGENT_VERSION = saved;
    }
  });
});
