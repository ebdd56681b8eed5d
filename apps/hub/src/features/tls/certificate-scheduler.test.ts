import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { createLogger } from '@keyfleet/log';
import { type KnotServer, type PebbleServer, startKnot, startPebble } from '@keyfleet/test-harness';
import acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubServiceDeps } from '../../hub-feature.js';
import { HubMetrics } from '../../metrics/hub-metrics.js';
import { type FakeTlsHost, startFakeTlsHost } from '../../testing/fake-tls-host.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { acmeClient } from './acme-account.js';
import { ariCertId } from './ari-cert-id.js';
import { certificateScheduler } from './certificate-scheduler.js';
import { tlsDb } from './certificates-tables.js';

interface Cert {
  id: string;
  state: string;
  serial: string | null;
  lastError: string | null;
  nextAttemptAt: string;
  renewalWindow: { start: string; end: string } | null;
  renewalCheckAt: string | null;
  certificatePem: string;
}

describe('the certificate scheduler: DNS-01 issuance, ARI renewal and the order budget against pebble and Knot', () => {
  let t: TestContext;
  let knot: KnotServer;
  let pebble: PebbleServer;
  let host: FakeTlsHost;
  let scheduler: { stop(): Promise<void> };
  let hostId: string;
  const savedAgent = acme.axios.defaults.httpsAgent;
  const savedScan = process.env.KEYFLEET_CERT_SCAN_MS;
  const savedLimit = process.env.KEYFLEET_ACME_ORDER_LIMIT;

  const get = async (id: string) => (await t.raw('GET', `/v1/certificates/${id}`, { token: t.adminToken })).json as Cert;
  const until = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    process.env.KEYFLEET_CERT_SCAN_MS = '200';
    // The first issuance and the renewal spend it; a third order waits its turn.
    process.env.KEYFLEET_ACME_ORDER_LIMIT = '2/1h';
    [t, knot] = await Promise.all([createTestContext('pglite'), startKnot()]);
    pebble = await startPebble({ dnsServer: knot.address });
    // This process started before pebble's TLS certificate existed (no NODE_EXTRA_CA_CERTS for it).
    acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, await readFile(pebble.caFile, 'utf8')] });
    hostId = await t.addHost({ hostname: 'kc-dns', taskTypes: ['tls.csr', 'tls.challenge', 'tls.install'] });
    host = startFakeTlsHost(t.db, hostId);
    await t.secrets.put('tsig-test', knot.tsig.secret, 'test');
    const deps = {
      db: t.db,
      dispatcher: t.dispatcher,
      secrets: t.secrets,
      metrics: new HubMetrics(t.db),
      log: createLogger('scheduler-test', { level: 'silent' }),
    } as unknown as HubServiceDeps;
    scheduler = await certificateScheduler.start(deps);
  }, 120_000);
  afterAll(async () => {
    await scheduler?.stop();
    await host?.stop();
    acme.axios.defaults.httpsAgent = savedAgent;
    if (savedScan === undefined) delete process.env.KEYFLEET_CERT_SCAN_MS;
    else process.env.KEYFLEET_CERT_SCAN_MS = savedScan;
    if (savedLimit === undefined) delete process.env.KEYFLEET_ACME_ORDER_LIMIT;
    else process.env.KEYFLEET_ACME_ORDER_LIMIT = savedLimit;
    await pebble?.stop();
    await knot?.stop();
    await t?.close();
  });

  it('issues over DNS-01 (RFC 2136), renews inside the window the CA moved sending `replaces`, then queues behind the order budget', async () => {
    const created = await t.raw('POST', '/v1/certificates', {
      token: t.adminToken,
      body: {
        target: hostId,
        domains: [`sso.${knot.zone}`],
        ca: pebble.directoryUrl,
        dns: { provider: 'rfc2136', server: knot.address, keyName: knot.tsig.name, secret: { $secret: 'tsig-test' } },
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as Cert).id;
    const first = await until('the first issuance', async () => {
      const c = await get(id);
      if (c.state === 'failed') throw new Error(c.lastError ?? 'failed');
      return c.state === 'valid' ? c : undefined;
    });
    expect(host.installed).toEqual([first.serial]);
    // pebble's window (2/3 of the lifetime ± 1 day, within the lifetime) holds the drawn time; its Retry-After (6 h) the next check.
    expect(first.renewalWindow).not.toBeNull();
    const next = Date.parse(first.nextAttemptAt);
    expect(next).toBeGreaterThanOrEqual(Date.parse(first.renewalWindow!.start));
    expect(next).toBeLessThan(Date.parse(first.renewalWindow!.end));
    expect(Date.parse(first.renewalCheckAt!) - Date.now()).toBeGreaterThan(5.9 * 3_600_000);

    // The CA moves the window into the past (as after an incident), and its Retry-After has passed: the hub renews at once.
    const now = Date.now();
    await pebble.setRenewalInfo(first.certificatePem, { start: new Date(now - 7_200_000), end: new Date(now - 3_600_000) });
    await tlsDb(t.db)
      .updateTable('certificates')
      .set({ renewal_check_at: new Date(now - 1_000) })
      .where('id', '=', id)
      .execute();
    const renewed = await until('the renewal', async () => {
      const c = await get(id);
      return c.state === 'valid' && c.serial !== first.serial ? c : undefined;
    });
    expect(host.installed).toEqual([first.serial, renewed.serial]);
    // The renewal's order named the old certificate: the CA refuses to let it be replaced twice.
    const account = await acmeClient(t.secrets, pebble.directoryUrl);
    await expect(
      account.createOrder({ identifiers: [{ type: 'dns', value: `sso.${knot.zone}` }], replaces: ariCertId(first.certificatePem) } as Parameters<
        acme.Client['createOrder']
      >[0]),
    ).rejects.toThrow(/already has a replacement order/);

    // The fleet's order budget at this CA (2 per hour) is spent: renewing now queues it, visibly,
    // without asking the host for a key or the CA for an order.
    const due = await t.raw('POST', `/v1/certificates/${id}/renew`, { token: t.adminToken });
    expect(due.status, due.text).toBe(202);
    const queued = await until('the queued renewal', async () => {
      const c = await get(id);
      return c.lastError?.startsWith('queued:') ? c : undefined;
    });
    expect(queued).toMatchObject({ state: 'valid', serial: renewed.serial });
    expect(queued.lastError).toMatch(/^queued: the fleet's ACME order budget \(2 per 60 min\) is spent; next order at /);
    expect(Date.parse(queued.nextAttemptAt) - Date.now()).toBeGreaterThan(50 * 60_000);
    const csrTasks = await t.db.selectFrom('tasks').select('id').where('host_id', '=', hostId).where('type', '=', 'tls.csr').execute();
    expect(csrTasks).toHaveLength(2);
    expect(host.installed).toHaveLength(2);
  }, 120_000);
});
