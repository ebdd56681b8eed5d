import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromSeed } from '@nats-io/nkeys';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enroll } from './enroll.js';
import { identityStore } from './identity-store.js';

type Reply = { status: number; body: unknown };

/** Stands in for the hub's POST /v1/enroll; records requests and answers with `next`. */
let server: Server;
let hubUrl: string;
let requests: Array<Record<string, unknown>> = [];
let next: Reply;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      requests.push({ path: req.url, ...JSON.parse(body) });
      res.writeHead(next.status, { 'content-type': 'application/json' }).end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('enroll', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = join(await mkdtemp(join(tmpdir(), 'kf-enroll-')), 'state');
    requests = [];
    next = { status: 201, body: { hostId: 'h-enrolled', natsServers: ['nats://127.0.0.1:4222'], jwt: 'eyJ.jwt.sig' } };
  });
  afterEach(async () => {
    await rm(join(stateDir, '..'), { recursive: true, force: true });
  });

  it('sends only the public key and stores identity and secrets privately', async () => {
    const identity = await enroll({ hubUrl, token: 'kfe_onetime', labels: { env: 'prod' }, stateDir, hostname: 'kc-1' });
    expect(identity).toEqual({ hostId: 'h-enrolled', hubUrl: hubUrl.replace(/\/$/, ''), natsServers: ['nats://127.0.0.1:4222'], labels: { env: 'prod' } });
    expect(requests).toHaveLength(1);
    const sent = requests[0]!;
    expect(sent).toMatchObject({ path: '/v1/enroll', token: 'kfe_onetime', hostname: 'kc-1', labels: { env: 'prod' }, agentVersion: '0.1.0' });
    expect(JSON.stringify(sent)).not.toMatch(/"SU[A-Z2-7]+"/);

    const { identity: onDisk, credentials } = await identityStore.load(stateDir);
    expect(onDisk).toEqual(identity);
    expect(credentials.jwt).toBe('eyJ.jwt.sig');
    // The stored seed is the private half of exactly the public key the hub was given.
    expect(fromSeed(new TextEncoder().encode(credentials.seed)).getPublicKey()).toBe(sent.publicKey);
    const paths = identityStore.paths(stateDir);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(paths.identity)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.credentials)).mode & 0o777).toBe(0o600);
    const identityText = await readFile(paths.identity, 'utf8');
    expect(identityText).not.toContain('kfe_onetime');
    expect(identityText).not.toContain(credentials.seed);
  });

  it("fails with the hub's error message and stores nothing", async () => {
    next = { status: 401, body: { error: 'enrollment token was already used' } };
    await expect(enroll({ hubUrl, token: 'kfe_used', labels: {}, stateDir })).rejects.toThrow(
      'hub refused enrollment (HTTP 401): enrollment token was already used',
    );
    expect(await identityStore.exists(stateDir)).toBe(false);
  });

  it('refuses to overwrite an identity without force, before spending the token', async () => {
    await enroll({ hubUrl, token: 'kfe_first', labels: {}, stateDir });
    await expect(enroll({ hubUrl, token: 'kfe_second', labels: {}, stateDir })).rejects.toThrow(/already enrolled as h-enrolled.*--force/);
    expect(requests).toHaveLength(1);
    next = { status: 201, body: { hostId: 'h-again', natsServers: ['nats://x:4222'], jwt: 'j2' } };
    await enroll({ hubUrl, token: 'kfe_second', labels: {}, stateDir, force: true });
    expect((await identityStore.load(stateDir)).identity.hostId).toBe('h-again');
  });

  it('rejects a malformed success response', async () => {
    next = { status: 201, body: { hostId: 'NOT VALID', natsServers: [] } };
    await expect(enroll({ hubUrl, token: 't', labels: {}, stateDir })).rejects.toThrow(/invalid enrollment response/);
    expect(await identityStore.exists(stateDir)).toBe(false);
  });
});
