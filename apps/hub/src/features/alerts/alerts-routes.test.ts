import { type MailpitServer, startMailpit } from '@keyfleet/test-harness';
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

// One mail server for both backends: each suite's mails name its own host.
let mailpit: MailpitServer;
beforeAll(async () => {
  mailpit = await startMailpit();
});
afterAll(async () => {
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
});
