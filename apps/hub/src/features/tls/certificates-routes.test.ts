import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import * as x509 from '@peculiar/x509';
import acme from 'acme-client';
import { tlsDb } from './certificates-tables.js';
import { INTERNAL_CA_SECRET, InternalCa } from './internal-ca.js';

const TLS_TASKS = ['tls.csr', 'tls.challenge', 'tls.install'];

describe('the certificate request API: issuer and challenge selection', () => {
  let t: TestContext;
  let hostId: string;
  const saved = process.env.KEYFLEET_DNS01_HOOK;
  const post = (body: Record<string, unknown>) =>
    t.raw('POST', '/v1/certificates', { token: t.adminToken, body: { target: hostId, domains: ['id.example.com'], ...body } });
  const rfc2136 = { provider: 'rfc2136', server: '10.0.0.53:5353', keyName: 'keyfleet', secret: { $secret: 'tsig-keyfleet' } };

  beforeAll(async () => {
    delete process.env.KEYFLEET_DNS01_HOOK;
    t = await createTestContext('pglite');
    hostId = await t.addHost({ hostname: 'kc-1', taskTypes: TLS_TASKS });
    await t.secrets.put('tsig-keyfleet', Buffer.alloc(32, 7).toString('base64'), 'test');
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.KEYFLEET_DNS01_HOOK;
    else process.env.KEYFLEET_DNS01_HOOK = saved;
    await t?.close();
  });

  it('refuses combinations that cannot work, with a 400 that says what to change', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ challenge: 'dns-01' }, /challenge dns-01 needs dns: \{ provider: 'rfc2136'/],
      [{ challenge: 'http-01', dns: rfc2136 }, /dns is for challenge dns-01/],
      [{ issuer: 'internal', ca: 'https://acme.example.com/dir' }, /the internal CA signs without an ACME CA or a challenge: drop ca/],
      [{ issuer: 'internal', challenge: 'dns-01', dns: rfc2136 }, /drop challenge, dns/],
      [{ dns: { provider: 'hook' } }, /dns provider hook needs the hub setting KEYFLEET_DNS01_HOOK/],
      [{ dns: { ...rfc2136, secret: { $secret: 'absent' } } }, /the TSIG secret: secret .+absent.+ does not exist/],
      [{ dns: { ...rfc2136, server: 'dns.example.com; rm -rf' } }, /primary DNS server/],
      [{ dns: { ...rfc2136, algorithm: 'hmac-md5' } }, /algorithm/],
      [{ dns: { ...rfc2136, secret: 'in-clear' } }, /secret/],
      [{ challenge: 'tls-alpn-01' }, /challenge/],
      [{ domains: ['*.example.com'] }, /\*\.example\.com: a wildcard name can only be proved with DNS-01/],
      [{ domains: ['*.example.com'], challenge: 'http-01' }, /a wildcard name can only be proved with DNS-01/],
      [{ domains: ['*.*.example.com'] }, /a DNS name like id\.example\.com, or a wildcard/],
      [{ issuer: 'vault' }, /issuer/],
    ];
    for (const [body, message] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.text, JSON.stringify(body)).toMatch(message);
    }
    expect((await t.raw('GET', '/v1/certificates', { token: t.adminToken })).json).toEqual({ items: [] });
  });

  it('records DNS-01 with RFC 2136 (its TSIG secret by name only), DNS-01 by hook, and the internal CA', async () => {
    const dns = await post({ dns: rfc2136 });
    expect(dns.status, dns.text).toBe(201);
    expect(dns.json).toMatchObject({ challenge: 'dns-01', dns: { ...rfc2136, algorithm: 'hmac-sha256' }, issuer: { kind: 'acme' }, state: 'pending' });
    expect(dns.text).not.toContain(Buffer.alloc(32, 7).toString('base64'));

    process.env.KEYFLEET_DNS01_HOOK = '/usr/local/bin/dns01-hook';
    const hook = await post({ challenge: 'dns-01', dns: { provider: 'hook' } });
    expect(hook.status, hook.text).toBe(201);
    expect(hook.json).toMatchObject({ challenge: 'dns-01', dns: { provider: 'hook' } });

    const internal = await post({ issuer: 'internal' });
    expect(internal.status, internal.text).toBe(201);
    expect(internal.json).toMatchObject({ issuer: { kind: 'internal' }, challenge: 'none', dns: null, renewalWindow: null });

    const wildcard = await post({ domains: ['*.example.com', 'example.com'], dns: rfc2136 });
    expect(wildcard.status, wildcard.text).toBe(201);
    expect(wildcard.json).toMatchObject({ domains: ['*.example.com', 'example.com'], challenge: 'dns-01' });

    const plain = await post({});
    expect(plain.json).toMatchObject({ challenge: 'http-01', dns: null, issuer: { kind: 'acme' } });
  });

  it('serves the internal CA’s trust bundle to any reader, the same CA every time, its key sealed', async () => {
    const viewer = await t.tokenFor('viewer');
    const first = await t.raw('GET', '/v1/tls/trust-bundle', { token: viewer });
    expect(first.status, first.text).toBe(200);
    const body = first.json as { certificatePem: string; subject: string; fingerprint256: string; notAfter: string };
    const ca = new X509Certificate(body.certificatePem);
    expect(ca.ca).toBe(true);
    expect(body.fingerprint256).toBe(ca.fingerprint256);
    expect(body.subject).toMatch(/^CN=Keyfleet internal CA/);
    expect((await t.raw('GET', '/v1/tls/trust-bundle', { token: viewer })).json).toEqual(body);
    expect((await t.raw('GET', '/v1/tls/trust-bundle')).status).toBe(401);
    // Its key is sealed in the secret store: nowhere in the database in clear.
    const stored = JSON.parse((await t.secrets.reveal([INTERNAL_CA_SECRET])).values.get(INTERNAL_CA_SECRET)!) as { keyPkcs8: string };
    const rows = JSON.stringify(await t.db.selectFrom('secrets').selectAll().execute());
    expect(rows).toContain(INTERNAL_CA_SECRET);
    expect(rows).not.toContain(stored.keyPkcs8.slice(20, 60));
  });

  it('revokes an internal-CA certificate: the row says when and why, renewals stop, the signed CRL lists its serial; documented refusals', async () => {
    const created = await post({ issuer: 'internal' });
    const id = (created.json as { id: string }).id;
    const revoke = (body?: Record<string, unknown>, certId = id) =>
      t.raw('POST', `/v1/certificates/${certId}/revoke`, { token: t.adminToken, ...(body ? { body } : {}) });
    const notYet = await revoke();
    expect([notYet.status, notYet.text]).toEqual([409, expect.stringMatching(/has not been issued yet: nothing to revoke/)]);

    // Issued as the scheduler would have: signed by the hub's CA, recorded on the row.
    const [, csr] = await acme.crypto.createCsr({ commonName: 'id.example.com', altNames: ['id.example.com'] });
    const { certificatePem } = await new InternalCa(t.secrets).issue({ csrPem: csr.toString(), domains: ['id.example.com'] });
    const serial = new X509Certificate(certificatePem).serialNumber.toUpperCase();
    await tlsDb(t.db)
      .updateTable('certificates')
      .set({ state: 'valid', certificate_pem: certificatePem, serial, next_attempt_at: new Date(Date.now() + 86_400_000) })
      .where('id', '=', id)
      .execute();

    expect((await revoke({ reason: 'stolen' })).status).toBe(400);
    expect((await revoke({}, 'crt_nope')).status).toBe(404);
    const viewer = await t.tokenFor('viewer');
    expect((await t.raw('POST', `/v1/certificates/${id}/revoke`, { token: viewer, body: {} })).status).toBe(403);

    const done = await revoke({ reason: 'keyCompromise' });
    expect(done.status, done.text).toBe(200);
    expect(done.json).toMatchObject({ id, state: 'revoked', revocationReason: 'keyCompromise', nextAttemptAt: null, serial });
    expect(Date.parse((done.json as { revokedAt: string }).revokedAt)).toBeLessThanOrEqual(Date.now());
    const again = await revoke();
    expect([again.status, again.text]).toEqual([409, expect.stringMatching(/already revoked/)]);
    const listed = (await t.raw('GET', '/v1/certificates', { token: viewer })).json as { items: Array<{ id: string; state: string }> };
    expect(listed.items.find((c) => c.id === id)?.state).toBe('revoked');

    const crl = await t.raw('GET', '/v1/tls/crl', { token: viewer });
    expect(crl.status, crl.text).toBe(200);
    const parsed = new x509.X509Crl(crl.text);
    const bundle = (await t.raw('GET', '/v1/tls/trust-bundle', { token: viewer })).json as { certificatePem: string };
    expect(await parsed.verify({ publicKey: new x509.X509Certificate(bundle.certificatePem).publicKey })).toBe(true);
    const entry = parsed.findRevoked(serial.toLowerCase());
    expect(entry?.reason).toBe(x509.X509CrlReason.keyCompromise);
    expect(parsed.entries).toHaveLength(1);
  });
});
