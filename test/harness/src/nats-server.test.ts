import { existsSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startNats, type NatsServer } from './nats-server.js';

describe('startNats', () => {
  let server: NatsServer | undefined;
  const conns: NatsConnection[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) await c.close();
    await server?.stop();
    server = undefined;
  });

  const connectHub = async (s: NatsServer) => {
    const nc = await connect({
      servers: s.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(await s.authority.hubCreds())),
      reconnectTimeWait: 50,
    });
    conns.push(nc);
    return nc;
  };

  it('runs a real nats-server in operator mode that accepts hub creds', async () => {
    server = await startNats();
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const nc = await connectHub(server);
    const sub = nc.subscribe('kf.test.echo', { max: 1 });
    (async () => {
      for await (const m of sub) m.respond(m.data);
    })();
    const reply = await nc.request('kf.test.echo', 'ping', { timeout: 2000 });
    expect(reply.string()).toBe('ping');
  });

  it('refuses a connection without credentials', async () => {
    server = await startNats();
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/[Aa]uthorization/);
  });

  it('restarts on the same port and stops for good', async () => {
    server = await startNats();
    const before = server.url;
    await server.restart();
    expect(server.url).toBe(before);
    const nc = await connectHub(server);
    expect(nc.getServer()).toBe(new URL(before).host);
    await nc.flush();

    const dir = server.files.dir;
    await server.stop();
    server = undefined;
    expect(existsSync(dir)).toBe(false);
    await expect(connect({ servers: before, reconnect: false })).rejects.toThrow();
  });
});
