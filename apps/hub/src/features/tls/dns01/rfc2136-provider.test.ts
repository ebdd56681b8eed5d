import { Resolver } from 'node:dns/promises';
import { type KnotServer, startKnot } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rfc2136Provider } from './rfc2136-provider.js';
import { Tsig } from './tsig.js';

describe('RFC 2136 updates with TSIG against a real DNS server (Knot)', () => {
  let knot: KnotServer;
  const resolver = new Resolver();
  const txt = async (name: string) => (await resolver.resolveTxt(name).catch(() => [])).map((r) => r.join(''));

  beforeAll(async () => {
    knot = await startKnot();
    resolver.setServers([knot.address]);
  });
  afterAll(async () => {
    await knot?.stop();
  });

  const provider = (secret = knot.tsig.secret, zone?: string) =>
    new Rfc2136Provider({ server: knot.address, zone, tsig: new Tsig(knot.tsig.name, knot.tsig.algorithm, Buffer.from(secret, 'base64')) });

  it('adds the challenge record, finding the zone by itself, and removes only its own value', async () => {
    const name = `_acme-challenge.id.${knot.zone}`;
    await provider().present(`id.${knot.zone}`, name, 'first-value');
    await provider(undefined, knot.zone).present(`id.${knot.zone}`, name, 'second-value');
    expect((await txt(name)).sort()).toEqual(['first-value', 'second-value']);
    await provider().cleanup(`id.${knot.zone}`, name, 'first-value');
    expect(await txt(name)).toEqual(['second-value']);
    await provider().cleanup(`id.${knot.zone}`, name, 'second-value');
    expect(await txt(name)).toEqual([]);
  });

  it('a wrong TSIG secret is refused with the server’s reason, and nothing changes', async () => {
    const name = `_acme-challenge.bad.${knot.zone}`;
    await expect(provider(Buffer.alloc(32, 1).toString('base64')).present(`bad.${knot.zone}`, name, 'x')).rejects.toThrow(
      /adding TXT _acme-challenge\.bad\.example\.test in zone example\.test at 127\.0\.0\.1:\d+: the DNS server refused the TSIG key kf-test-key: BADSIG \(NOTAUTH\)/,
    );
    expect(await txt(name)).toEqual([]);
  });

  it('a zone the server does not serve is refused with NOTAUTH or NOTZONE', async () => {
    await expect(provider(undefined, 'other.test').present('id.other.test', '_acme-challenge.id.other.test', 'x')).rejects.toThrow(/NOTAUTH|NOTZONE/);
  });

  it('a server that is down is named in the error', async () => {
    const down = new Rfc2136Provider({ server: '127.0.0.1:1', zone: knot.zone, tsig: new Tsig('k', 'hmac-sha256', Buffer.alloc(32)) });
    await expect(down.present('a', '_acme-challenge.a', 'x')).rejects.toThrow('the DNS server 127.0.0.1:1 is unreachable: ECONNREFUSED');
  });
});
