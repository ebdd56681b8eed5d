import { createServer, get, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { freePort } from '../runtime/free-port.js';
import { FrontProxy } from './front-proxy.js';

const log = createLogger('test', { level: 'silent' });

/** A backend that answers with its name, the Host it saw and whether a hop-by-hop header reached it. */
async function backend(name: string, delayMs = 0): Promise<{ port: number; server: Server; received: Promise<void> }> {
  const port = await freePort();
  let onRequest = () => {};
  // Tests wait on this instead of a sleep: under load a request can take long to reach the backend.
  const received = new Promise<void>((r) => (onRequest = r));
  const server = createServer((req, res) => {
    onRequest();
    setTimeout(() => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(
        JSON.stringify({
          name,
          host: req.headers.host,
          hopHeaders: [req.headers['keep-alive'], req.headers['x-hop']].filter(Boolean),
          path: req.url,
          forwarded: Object.fromEntries(Object.entries(req.headers).filter(([h]) => h.startsWith('x-forwarded-') || h === 'forwarded')),
        }),
      );
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, server, received };
}

describe('FrontProxy', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(target: number) {
    const proxy = new FrontProxy('http', target, log);
    const port = await freePort();
    await proxy.listen(port, '127.0.0.1');
    cleanup.push(() => proxy.close());
    return { proxy, url: `http://127.0.0.1:${port}` };
  }

  it('forwards requests with Host and end-to-end headers intact, dropping hop-by-hop ones', async () => {
    const a = await backend('a');
    cleanup.push(() => new Promise((r) => a.server.close(r)));
    const { url } = await setup(a.port);
    // node:http, not fetch: fetch refuses to send hop-by-hop headers at all.
    const { headers, body } = await new Promise<{ headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      get(`${url}/realms/x?y=1`, { headers: { connection: 'keep-alive, x-hop', 'keep-alive': 'timeout=5', 'x-hop': '1' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ headers: res.headers, body: text }));
      }).on('error', reject);
    });
    expect(headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(JSON.parse(body)).toMatchObject({ name: 'a', host: new URL(url).host, hopHeaders: [], path: '/realms/x?y=1' });
  });

  it("tells the backend the client's own address, scheme and host, whatever forwarding headers the client sent", async () => {
    const a = await backend('a');
    cleanup.push(() => new Promise((r) => a.server.close(r)));
    const { url } = await setup(a.port);
    // From 127.0.0.2, so the address the backend learns cannot be the proxy's own 127.0.0.1.
    const body = await new Promise<string>((resolve, reject) => {
      get(
        `${url}/realms/x`,
        { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', forwarded: 'for=6.6.6.6' } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        },
      ).on('error', reject);
    });
    expect(JSON.parse(body).forwarded).toEqual({ 'x-forwarded-for': '127.0.0.2', 'x-forwarded-proto': 'http', 'x-forwarded-host': new URL(url).host });
  });

  it('switches per request: a keep-alive client never fails, requests in flight finish on the old backend', async () => {
    const a = await backend('a', 300);
    const b = await backend('b');
    cleanup.push(
      () => new Promise((r) => a.server.close(r)),
      () => new Promise((r) => b.server.close(r)),
    );
    const { proxy, url } = await setup(a.port);

    const slow = fetch(url).then((r) => r.json() as Promise<{ name: string }>);
    await a.received;
    proxy.switchTo(b.port);
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(url).then((r) => r.json() as Promise<{ name: string }>)));
    expect(answers.every((x) => x.name === 'b')).toBe(true);
    expect((await slow).name).toBe('a');

    expect(await proxy.drain(a.port, 1_000)).toBe(true);
    // The old backend can go now; the client keeps using its connection to the proxy.
    await new Promise((r) => a.server.close(r));
    a.server.closeAllConnections();
    expect(((await (await fetch(url)).json()) as { name: string }).name).toBe('b');
  });

  it('drain reports requests still in flight when the time is up', async () => {
    const a = await backend('a', 1_000);
    cleanup.push(() => new Promise((r) => a.server.close(r)));
    const { proxy, url } = await setup(a.port);
    const pending = fetch(url).then((r) => r.text());
    await a.received;
    expect(await proxy.drain(a.port, 100)).toBe(false);
    await pending.catch(() => undefined);
  });

  it('answers 502 with the reason when the backend is down', async () => {
    const { url } = await setup(await freePort());
    const res = await fetch(url);
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/Keycloak backend 127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\)/);
  });

  it('says which port is taken when it cannot listen', async () => {
    const a = await backend('a');
    cleanup.push(() => new Promise((r) => a.server.close(r)));
    const proxy = new FrontProxy('http', a.port, log);
    await expect(proxy.listen(a.port, '127.0.0.1')).rejects.toThrow(`port ${a.port} is already in use (the http front of Keycloak needs it)`);
  });

  it('answers ACME HTTP-01 challenges itself on plain HTTP (never forwarded); everything else still reaches Keycloak', async () => {
    const a = await backend('a');
    cleanup.push(() => new Promise((r) => a.server.close(r)));
    const proxy = new FrontProxy('http', a.port, log, 'none', async (token) => (token === 'tok-1' ? 'tok-1.thumb' : undefined));
    const port = await freePort();
    await proxy.listen(port, '127.0.0.1');
    cleanup.push(() => proxy.close());
    const good = await fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/tok-1`);
    expect([good.status, await good.text()]).toEqual([200, 'tok-1.thumb']);
    expect((await fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/other`)).status).toBe(404);
    expect(((await (await fetch(`http://127.0.0.1:${port}/realms/x`)).json()) as { name: string }).name).toBe('a');
  });
});
