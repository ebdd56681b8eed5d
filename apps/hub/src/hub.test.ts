import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import * as v1 from '@keyfleet/proto/v1';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import { createUser } from '@nats-io/nkeys';
import { connect, jwtAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from './hub.js';
import { createDb } from './store/create-db.js';
import { freshClusterSnapshot } from './testing/fresh-cluster-snapshot.js';

describe('startHub', () => {
  let nats: NatsServer;
  let dir: string;
  let hub: Hub | undefined;
  const log = createLogger('hub-test', { level: 'silent' });

  beforeAll(async () => {
    nats = await startNats();
    dir = await mkdtemp(join(tmpdir(), 'kf-hub-start-'));
    // Seed the data dir from the initdb snapshot; startHub then only reopens it.
    await (await createDb({ dataDir: join(dir, 'db'), snapshot: await freshClusterSnapshot() })).close();
  });
  afterAll(async () => {
    await hub?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = () =>
    startHub({ port: 0, dataDir: join(dir, 'db'), natsUrls: [nats.url], authority: nats.authority, dispatcher: { dispatchIntervalMs: 100 }, log });
  const api = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
    fetch(`${hub!.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  it('serves the API, enrolls an agent whose JWT works on NATS, and dispatches its hello', async () => {
    hub = await start();
    expect(hub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(hub.adminToken).toMatch(/^kf_/);
    const ready = await api('/readyz');
    expect(ready.status).toBe(200);

    const { token } = (await (await api('/v1/enrollment-tokens', { method: 'POST', token: hub.adminToken, body: { labels: { env: 'test' } } })).json()) as {
      token: string;
    };
    const user = createUser();
    const enrolled = await api('/v1/enroll', { method: 'POST', body: { token, publicKey: user.getPublicKey(), hostname: 'kc-test', agentVersion: '0.0.1' } });
    expect(enrolled.status).toBe(201);
    const { hostId, jwt, natsServers } = (await enrolled.json()) as { hostId: string; jwt: string; natsServers: string[] };
    expect(natsServers).toEqual([nats.url]);

    const agent = await connect({ servers: natsServers, authenticator: jwtAuthenticator(jwt, user.getSeed()), inboxPrefix: v1.subjects.inboxPrefix(hostId) });
    try {
      const hello = v1.encode(v1.hello, {
        kind: 'hello',
        hostId,
        hostname: 'kc-test',
        agentVersion: '0.0.1',
        taskTypes: ['noop'],
        labels: {},
        heartbeatIntervalMs: 1000,
        maxConcurrency: 2,
      });
      const reply = await agent.request(v1.subjects.hub.hello(hostId), hello, { timeout: 5000 });
      expect(v1.decode(v1.welcome, reply.data).kind).toBe('welcome');
    } finally {
      await agent.close();
    }
    const host = (await (await api(`/v1/hosts/${hostId}`, { token: hub.adminToken })).json()) as { status: string; taskTypes: string[]; labels: object };
    expect(host).toMatchObject({ status: 'online', taskTypes: ['noop'], labels: { env: 'test' } });
  });

  it('closes promptly even with an event stream open', async () => {
    const operator = (await (await api('/v1/api-tokens', { method: 'POST', token: hub!.adminToken, body: { name: 'op', role: 'operator' } })).json()) as {
      token: string;
    };
    const hosts = (await (await api('/v1/hosts', { token: operator.token })).json()) as { items: { id: string }[] };
    // A long delay keeps the task live, so its event stream stays open.
    const created = await api('/v1/tasks', {
      method: 'POST',
      token: operator.token,
      body: { type: 'noop', target: { hostId: hosts.items[0]!.id }, params: { delayMs: 60_000 } },
    });
    const { batch } = (await created.json()) as { batch: { id: string } };
    const stream = await api(`/v1/batches/${batch.id}/events`, { token: operator.token });
    expect(stream.status).toBe(200);
    const reading = stream.text();
    const started = Date.now();
    await hub!.close();
    hub = undefined;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await reading).toContain('event: state');
  });

  it('does not create another admin token on a database that has tokens', async () => {
    hub = await start();
    expect(hub.adminToken).toBeUndefined();
    expect((await api('/healthz')).status).toBe(200);
  });

  it('generated its secret key file (0600) on first start and reuses it, logging where but never the key', async () => {
    await hub?.close();
    const path = join(dir, 'db', 'secret.key');
    const key = await readFile(path, 'utf8');
    expect(Buffer.from(key.trim(), 'base64')).toHaveLength(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    hub = await startHub({
      port: 0,
      dataDir: join(dir, 'db'),
      natsUrls: [nats.url],
      authority: nats.authority,
      log: createLogger('hub-test', { destination }),
    });
    expect(await readFile(path, 'utf8')).toBe(key);
    expect(lines.some((l) => l.includes('hub secret key loaded from file') && l.includes(path))).toBe(true);
    expect(lines.join('')).not.toContain(key.trim());
  });
});
