import { X509Certificate } from 'node:crypto';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { Agent, type AgentOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { rootCertificates } from 'node:tls';
import { type KnotServer, type PebbleServer, startKnot, startPebble } from '@keyfleet/test-harness';
import acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeIssuer } from './acme-issuer.js';
import { ariCertId } from './ari-cert-id.js';
import { Dns01Solver } from './dns01/dns01-solver.js';
import { HookProvider } from './dns01/hook-provider.js';
import { Rfc2136Provider } from './dns01/rfc2136-provider.js';
import { Tsig } from './dns01/tsig.js';

const splitChain = (pem: string) => pem.split(/(?<=-----END CERTIFICATE-----\n)/).filter((p) => p.includes('BEGIN'));

describe('ACME issuance against a real CA (pebble v2.10.3) that validates DNS-01 in a real DNS server (Knot)', () => {
  let knot: KnotServer;
  let pebble: PebbleServer;
  let client: acme.Client;
  let dir: string;
  let issuerRoot: X509Certificate;
  const savedAgent = acme.axios.defaults.httpsAgent;
  const resolver = new Resolver();

  const rfc2136 = () =>
    new Dns01Solver(
      new Rfc2136Provider({ server: knot.address, tsig: new Tsig(knot.tsig.name, knot.tsig.algorithm, Buffer.from(knot.tsig.secret, 'base64')) }),
    );
  const issuer = (solver = rfc2136(), opts: { now?: () => Date; random?: () => number } = {}) =>
    new AcmeIssuer({ directoryUrl: pebble.directoryUrl, client: async () => client, solver, ...opts });
  const csrFor = async (domain: string) => (await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }))[1].toString();
  /** The chain verifies up to pebble's issuing root and names `domain`. */
  const expectValidFor = (pem: string, domain: string) => {
    const chain = splitChain(pem).map((p) => new X509Certificate(p));
    expect(chain.length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < chain.length - 1; i++) expect(chain[i]!.verify(chain[i + 1]!.publicKey)).toBe(true);
    expect(chain.at(-1)!.verify(issuerRoot.publicKey)).toBe(true);
    expect(chain[0]!.subjectAltName).toBe(`DNS:${domain}`);
  };

  beforeAll(async () => {
    knot = await startKnot();
    pebble = await startPebble({ dnsServer: knot.address });
    resolver.setServers([knot.address]);
    dir = await mkdtemp(join(tmpdir(), 'kf-acme-issuer-'));
    // This process started before pebble's TLS certificate existed, so NODE_EXTRA_CA_CERTS cannot
    // carry it: acme-client's HTTP client (which the issuer's ARI requests share) trusts it here.
    acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, await readFile(pebble.caFile, 'utf8')] } satisfies AgentOptions);
    issuerRoot = new X509Certificate(await readFile(pebble.issuerRootFile));
    client = new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
  }, 60_000);
  afterAll(async () => {
    acme.axios.defaults.httpsAgent = savedAgent;
    await pebble?.stop();
    await knot?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let first: string;

  it('DNS-01 through RFC 2136 with TSIG: the CA finds the record in DNS and issues; the record is removed afterwards', async () => {
    const domain = `id.${knot.zone}`;
    const { certificatePem, replaces } = await issuer().issue({ csrPem: await csrFor(domain), domains: [domain] });
    expectValidFor(certificatePem, domain);
    expect(replaces).toBeUndefined();
    expect(await resolver.resolveTxt(`_acme-challenge.${domain}`).catch(() => [])).toEqual([]);
    first = certificatePem;
  });

  it('DNS-01 through a hook command (here an operator’s script around knsupdate)', async () => {
    const log = join(dir, 'hook.log');
    const script = join(dir, 'dns01-hook.sh');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        'set -e',
        `echo "$1 $2 $3" >> ${log}`,
        'op=$([ "$1" = present ] && echo "add $3. 60" || echo "delete $3.")',
        `knsupdate -y ${knot.tsig.algorithm}:${knot.tsig.name}:${knot.tsig.secret} <<EOF`,
        `server 127.0.0.1 ${knot.port}`,
        `zone ${knot.zone}.`,
        'update $op TXT "$4"',
        'send',
        'EOF',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const domain = `hook.${knot.zone}`;
    const { certificatePem } = await issuer(new Dns01Solver(new HookProvider(script))).issue({ csrPem: await csrFor(domain), domains: [domain] });
    expectValidFor(certificatePem, domain);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual([
      `present ${domain} _acme-challenge.${domain}`,
      `cleanup ${domain} _acme-challenge.${domain}`,
    ]);
  });

  it('wrong DNS: a record the CA cannot find fails with a clear reason', async () => {
    const script = join(dir, 'noop-hook.sh');
    await writeFile(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const domain = `nowhere.${knot.zone}`;
    await expect(issuer(new Dns01Solver(new HookProvider(script))).issue({ csrPem: await csrFor(domain), domains: [domain] })).rejects.toThrow(
      new RegExp(`the CA could not validate ${domain.replace(/\./g, '\\.')} over DNS-01 via hook .*noop-hook\\.sh`),
    );
  });

  it('ARI: the renewal time is drawn per certificate inside the CA’s window; Retry-After sets the next check', async () => {
    const now = new Date();
    const window = { start: new Date(now.getTime() + 3_600_000), end: new Date(now.getTime() + 3 * 3_600_000) };
    await pebble.setRenewalInfo(first, window);
    const early = await issuer(undefined, { now: () => now, random: () => 0.25 }).planRenewal(first);
    const late = await issuer(undefined, { now: () => now, random: () => 0.75 }).planRenewal(first);
    expect(early.window).toEqual(window);
    expect(early.at.toISOString()).toBe(new Date(window.start.getTime() + 0.25 * 2 * 3_600_000).toISOString());
    expect(late.at.toISOString()).toBe(new Date(window.start.getTime() + 0.75 * 2 * 3_600_000).toISOString());
    // pebble answers Retry-After: 21600.
    expect(early.recheckAt?.toISOString()).toBe(new Date(now.getTime() + 6 * 3_600_000).toISOString());

    // A window that is already over (the CA wants it replaced, e.g. after an incident): at once.
    await pebble.setRenewalInfo(first, { start: new Date(now.getTime() - 7_200_000), end: new Date(now.getTime() - 3_600_000) });
    expect((await issuer(undefined, { now: () => now }).planRenewal(first)).at).toEqual(now);
  });

  it('ARI: a renewal sends `replaces`, and the CA records it (a second replacement of the same certificate is refused)', async () => {
    const domain = `id.${knot.zone}`;
    const renewed = await issuer().issue({ csrPem: await csrFor(domain), domains: [domain], replacesPem: first });
    expect(renewed.replaces).toBe(ariCertId(first));
    expectValidFor(renewed.certificatePem, domain);
    await expect(
      client.createOrder({ identifiers: [{ type: 'dns', value: domain }], replaces: ariCertId(first) } as Parameters<acme.Client['createOrder']>[0]),
    ).rejects.toThrow(/already has a replacement order/);
    // The issuer itself orders without the link then, rather than failing every retry.
    const again = await issuer().issue({ csrPem: await csrFor(domain), domains: [domain], replacesPem: first });
    expect(again.replaces).toBeUndefined();
    expectValidFor(again.certificatePem, domain);
  });

  it('a wildcard name through DNS-01: both authorizations (*.zone and the zone) proved at one record name, one after the other', async () => {
    const base = `wild.${knot.zone}`;
    const names = [`*.${base}`, base];
    const csrPem = (await acme.crypto.createCsr({ commonName: names[0], altNames: names }))[1].toString();
    const t0 = performance.now();
    const { certificatePem } = await issuer().issue({ csrPem, domains: names });
    console.log(`[acme-issuer] wildcard issuance over DNS-01 (2 authorizations) took ${Math.round(performance.now() - t0)} ms`);
    const leaf = new X509Certificate(splitChain(certificatePem)[0]!);
    expect(leaf.subjectAltName?.split(', ').toSorted()).toEqual(names.map((n) => `DNS:${n}`).toSorted());
    // A name one label under it matches the wildcard (checkHost answers with the SAN that matched); two labels do not.
    expect(leaf.checkHost(`anything.${base}`)).toBe(`*.${base}`);
    expect(leaf.checkHost(`a.b.${base}`)).toBeUndefined();
    expect(await resolver.resolveTxt(`_acme-challenge.${base}`).catch(() => [])).toEqual([]);
  });

  it('revokes at the CA with a reason; the CA recorded it (revoking it again is refused as already revoked)', async () => {
    const domain = `revoke.${knot.zone}`;
    const { certificatePem } = await issuer().issue({ csrPem: await csrFor(domain), domains: [domain] });
    const t0 = performance.now();
    await issuer().revoke(certificatePem, 'superseded');
    console.log(`[acme-issuer] revocation at pebble took ${Math.round(performance.now() - t0)} ms`);
    await expect(issuer().revoke(certificatePem, 'superseded')).rejects.toThrow(/the CA refused to revoke it: .*already.*revoked/i);
  });

  it('a CA without renewalInfo: 2/3 of the lifetime, no re-check', async () => {
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const plan = await new AcmeIssuer({ directoryUrl: `http://127.0.0.1:${port}/dir`, client: async () => client, solver: rfc2136() }).planRenewal(first);
      const leaf = new X509Certificate(splitChain(first)[0]!);
      const nb = Date.parse(leaf.validFrom);
      expect(plan).toEqual({ at: new Date(nb + Math.floor(((Date.parse(leaf.validTo) - nb) * 2) / 3)) });
    } finally {
      server.close();
    }
  });
});
