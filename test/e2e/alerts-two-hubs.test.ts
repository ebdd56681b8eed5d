import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AgentProcess,
  type AlertsRoutes,
  createEnrollmentToken,
  enrollAgent,
  expectStatus,
  type HubProcess,
  type HubTestClient,
  hubTestClient,
  type NatsServer,
  type PostgresServer,
  ServiceProcess,
  startHubProcess,
  startNats,
  startPostgres,
} from '@keyfleet/test-harness';

const HMAC_KEY = 'two-hubs-hmac-key-0123456789';

/** What the hub posts to a webhook channel. */
interface WebhookBody {
  kind: string;
  transition?: 'firing' | 'resolved';
  alert?: { id: string; rule: string; hostId: string | null };
}

/**
 * Two real hub processes on one Postgres and one NATS (agents' messages split between them by the
 * queue group; both evaluate and deliver), real agents killed with SIGKILL, a webhook receiver
 * checking the HMAC signature. The single-hub story (mail, retries, the CLI) is alerts.test.ts.
 */
describe('alerts with two hubs (real NATS, Postgres, two hub processes, agents, webhook receiver)', () => {
  let nats: NatsServer;
  let pg: PostgresServer;
  let hubA: HubProcess;
  let hubB: ServiceProcess;
  let apiA: HubTestClient;
  let apiB: HubTestClient;
  const agents: AgentProcess[] = [];
  const received: Array<{ body: WebhookBody; signatureOk: boolean; at: number }> = [];
  const hook: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const expected = `sha256=${createHmac('sha256', HMAC_KEY).update(raw).digest('hex')}`;
      received.push({ body: JSON.parse(raw) as WebhookBody, signatureOk: req.headers['x-keyfleet-signature'] === expected, at: Date.now() });
      res.writeHead(204).end();
    });
  });
  const deliveriesFor = (hostId: string) => received.filter((r) => r.body.alert?.rule === 'host-offline' && r.body.alert.hostId === hostId);
  const eventually = <T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeout = 30_000) =>
    vi.waitFor(
      async () => {
        const value = await check();
        expect(value, what).toBeDefined();
        return value as T;
      },
      { timeout, interval: 200 },
    );

  beforeAll(async () => {
    [nats, pg] = await Promise.all([startNats(), startPostgres(), new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve))]);
    // One secret key for both: the channel's HMAC secret is sealed by one hub and opened by either.
    const env = {
      KEYFLEET_SECRET_KEY: randomBytes(32).toString('hex'),
      KEYFLEET_ALERTS_EVAL_MS: '1000',
      KEYFLEET_ALERTS_DELIVERY_MS: '200',
      KEYFLEET_LOG_LEVEL: 'info',
    };
    hubA = await startHubProcess({ nats, databaseUrl: pg.url, env });
    // The second hub finds the database made: no initial admin token, so it is started by hand.
    hubB = new ServiceProcess('hub-b', 'apps/hub/src/main.ts', ['serve'], {
      ...env,
      KEYFLEET_DATABASE_URL: pg.url,
      KEYFLEET_NATS_URL: nats.url,
      KEYFLEET_NATS_AUTH_DIR: nats.files.dir,
      KEYFLEET_HTTP_PORT: '0',
    }).start();
    const [, urlB] = await hubB.waitFor(/hub listening on (\S+)/);
    apiA = hubTestClient({ url: hubA.url, token: hubA.adminToken });
    apiB = hubTestClient({ url: urlB!, token: hubA.adminToken });

    await expectStatus(apiA.api.v1.secrets[':name'].$put({ param: { name: 'alert-hmac' }, json: { value: HMAC_KEY } }), 200);
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    await expectStatus(
      apiA.routes<AlertsRoutes>('/v1').channels[':name'].$put({ param: { name: 'ops' }, json: { kind: 'webhook', url, secret: 'alert-hmac' } }),
      200,
    );
    // Through the other hub: both serve one API on one database.
    await expectStatus(
      apiB.routes<AlertsRoutes>('/v1').silences.$post({ json: { matchers: { rule: 'host-offline', role: 'quiet' }, comment: 'maintenance', duration: '1h' } }),
      201,
    );
  }, 120_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.remove()));
    await Promise.all([hubA?.stop(), hubB?.kill('SIGTERM')]);
    hook.close();
    await Promise.all([nats?.stop(), pg?.stop()]);
  });

  it('agent killed → host-offline fires and is delivered exactly once; a silence suppresses it; ack is audited; one hub down, the other alerts alone', async () => {
    const started = await Promise.all(
      ['loud', 'quiet', 'later'].map(async (role) => {
        const agent = await enrollAgent({ hubUrl: hubA.url, token: await createEnrollmentToken(apiA), labels: { role }, heartbeatIntervalMs: 500 });
        agents.push(agent);
        await agent.start();
        return agent;
      }),
    );
    const [loud, quiet, later] = started as [AgentProcess, AgentProcess, AgentProcess];

    await Promise.all([loud.kill('SIGKILL'), quiet.kill('SIGKILL')]);
    const killedAt = Date.now();
    const delivered = await eventually('the host-offline delivery for the loud host', () => deliveriesFor(loud.hostId)[0], 60_000);
    // Offline after 3 missed 500 ms heartbeats; the bound is 60 s past that deadline.
    console.log(`two hubs: agent killed → host-offline delivered in ${delivered.at - killedAt} ms`);
    expect(delivered.at - killedAt).toBeLessThan(60_000);
    expect(delivered.signatureOk).toBe(true);

    const alerts = (api: HubTestClient) => api.routes<AlertsRoutes>('/v1');
    const alertOf = async (api: HubTestClient, hostId: string) =>
      (await expectStatus(alerts(api).alerts.$get({ query: { state: 'all' } }), 200)).items.filter((a) => a.rule === 'host-offline' && a.hostId === hostId);
    const notificationsOf = async (api: HubTestClient, alertId: string) =>
      (await expectStatus(alerts(api)['alert-notifications'].$get({ query: { alert: alertId } }), 200)).items;
    // The silenced host's alert fires too, and its notification is recorded as silenced, never sent.
    const quietAlert = await eventually('the silenced host’s alert, its notification silenced', async () => {
      const [a] = await alertOf(apiB, quiet.hostId);
      const n = a ? await notificationsOf(apiA, a.id) : [];
      return a?.state === 'firing' && n.length > 0 && n.every((x) => x.state === 'silenced') ? a : undefined;
    });

    // Ack through hub B; the audit trail read through hub A has it, with who and the note.
    const ack = await expectStatus(alerts(apiB).alerts[':id'].ack.$post({ param: { id: quietAlert.id }, json: { note: 'planned reboot' } }), 200);
    expect(ack).toMatchObject({ ackNote: 'planned reboot', ackedBy: expect.any(String) });
    const audit = await expectStatus(apiA.api.v1.audit.$get({ query: { action: 'alerts.ack' } }), 200);
    expect(audit.items.find((e) => e.target === quietAlert.id)).toBeDefined();

    // Hub A crashes; the third agent goes: hub B alone takes its heartbeats, evaluates and delivers.
    await hubA.proc.kill('SIGKILL');
    await later.kill('SIGKILL');
    await eventually('hub B alone to deliver the third host’s alert', () => deliveriesFor(later.hostId)[0], 60_000);

    // Seconds of evaluation by both hubs, then by B, since the first delivery: still one alert and
    // one delivery for the loud host, nothing sent for the silenced one.
    expect(deliveriesFor(loud.hostId)).toHaveLength(1);
    expect(deliveriesFor(quiet.hostId)).toHaveLength(0);
    expect(await alertOf(apiB, loud.hostId)).toHaveLength(1);
    const log = await notificationsOf(apiB, delivered.body.alert!.id);
    expect(log.map((n) => `${n.channel}:${n.transition}:${n.state}`)).toEqual(['ops:firing:sent']);
  }, 90_000);
});
