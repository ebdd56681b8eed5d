import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { NatsAuthority, publishAccountJwt, REVOCATION_INBOX_PREFIX } from '@keyfleet/nats-auth';
import { subjects } from '@keyfleet/proto/v1';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startNats, type NatsServer } from './nats-server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

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

  it('revokes an agent credential: its connection is closed and it is refused, across a server restart', async () => {
    server = await startNats();
    const s = server;
    const agentCreds = async (hostId: string) => {
      const user = createUser();
      return { hostId, jwt: await s.authority.agentJwt(hostId, user.getPublicKey()), seed: user.getSeed(), publicKey: user.getPublicKey() };
    };
    const connectAgent = async (a: Awaited<ReturnType<typeof agentCreds>>, opts: { reconnect?: boolean } = {}) => {
      const nc = await connect({
        servers: s.url,
        authenticator: jwtAuthenticator(a.jwt, a.seed),
        inboxPrefix: subjects.inboxPrefix(a.hostId),
        reconnect: opts.reconnect ?? false,
      });
      conns.push(nc);
      return nc;
    };
    const revoked = await agentCreds('h_revoked');
    const kept = await agentCreds('h_kept');
    const live = await connectAgent(revoked, { reconnect: true });
    const serverSaid = (async () => {
      for await (const st of live.status()) if (st.type === 'error') return st.error.message;
    })();
    const other = await connectAgent(kept);

    const sys = await connect({
      servers: s.url,
      authenticator: credsAuthenticator(enc.encode(await s.authority.revocationCreds())),
      inboxPrefix: REVOCATION_INBOX_PREFIX,
    });
    conns.push(sys);
    // On a restart the server keeps a stored JWT only when it was issued after the preloaded one
    // (JWT times are whole seconds); a real hub pushes long after nats-init, this test within ms.
    const preloadedAt = Math.floor((await stat(s.files.authConfPath)).mtimeMs / 1000);
    while (Math.floor(Date.now() / 1000) <= preloadedAt) await new Promise((r) => setTimeout(r, 20));
    await publishAccountJwt(sys, s.authority.accountPublicKey, await s.authority.accountJwt({ [revoked.publicKey]: Math.floor(Date.now() / 1000) }));

    expect(await serverSaid).toMatch(/User Authentication Revoked/);
    await expect(connectAgent(revoked)).rejects.toThrow(/Authorization Violation/);
    await other.flush();

    // The full resolver kept the pushed JWT: nobody pushes it again after this restart.
    await s.restart();
    await expect(connectAgent(revoked)).rejects.toThrow(/Authorization Violation/);
    await (await connectAgent(kept)).flush();
  });

  it('tells why it refuses an account update', async () => {
    server = await startNats();
    const sys = await connect({
      servers: server.url,
      authenticator: credsAuthenticator(enc.encode(await server.authority.revocationCreds())),
      inboxPrefix: REVOCATION_INBOX_PREFIX,
    });
    conns.push(sys);
    // Another account's JWT sent as the Keyfleet account's.
    const stranger = NatsAuthority.fromSigningSeed(createAccount().getPublicKey(), dec.decode(createAccount().getSeed()), {
      operatorSigningSeed: dec.decode(createOperator().getSeed()),
      creds: '',
    });
    await expect(publishAccountJwt(sys, server.authority.accountPublicKey, await stranger.accountJwt({}))).rejects.toThrow(
      /refused the account update: .*subject does not match/,
    );
  });
});
