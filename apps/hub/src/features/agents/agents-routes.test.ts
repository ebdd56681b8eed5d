import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatHostAuthorization, hostRequestPayload } from '@keyfleet/proto/v1';
import { createUser, type KeyPair } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRevoker } from '../../auth/credential-revoker.js';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';
import type { AgentsRoutes } from './agents-routes.js';

const ARTIFACT = '#!/usr/bin/env node\nconsole.log("0.3.0");\n';
const SHA = createHash('sha256').update(ARTIFACT).digest('hex');

describe.each(testBackends)('the agent routes (%s)', (backend) => {
  let t: TestContext;
  let dir: string;
  const saved = { ...process.env };

  /** The Authorization header of `key`'s host for one request. */
  const signed = (key: KeyPair, hostId: string, method: string, pathAndQuery: string, opts: { body?: string; at?: number } = {}) => {
    const timestampMs = opts.at ?? Date.now();
    const bodySha256 = createHash('sha256')
      .update(opts.body ?? '')
      .digest('hex');
    const payload = hostRequestPayload({ method, pathAndQuery, hostId, timestampMs, bodySha256 });
    return formatHostAuthorization(hostId, timestampMs, key.sign(new TextEncoder().encode(payload)));
  };

  /** The agents feature's routes as the holder of `token`, or with this Authorization header. */
  const agent = (auth: { token?: string; authorization?: string } = {}) =>
    t.client.as(auth.token, auth.authorization ? { authorization: auth.authorization } : {}).routes<AgentsRoutes>('/v1').agent;
  /** A refusal by the host-auth middleware: these routes do not declare 401, so their typed client does not know its body. */
  const refused = async (response: Promise<{ status: number; json(): Promise<unknown> }>) => {
    const res = await response;
    expect(res.status).toBe(401);
    return res.json();
  };
  const newToken = async () => (await expectStatus(t.api(t.adminToken).v1['enrollment-tokens'].$post({ json: {} }), 201)).token;
  const enroll = async (token: string, key: KeyPair) =>
    (await expectStatus(t.api().v1.enroll.$post({ json: { token, publicKey: key.getPublicKey(), hostname: 'kc-up', agentVersion: '0.2.0' } }), 201)).hostId;
  const enrollHost = async () => {
    const key = createUser();
    return { key, hostId: await enroll(await newToken(), key) };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-artifacts-'));
    await writeFile(join(dir, 'keyfleet-agent-0.3.0.mjs'), ARTIFACT);
    await writeFile(join(dir, 'keyfleet-agent-0.3.0.mjs.sha256'), `${SHA}  keyfleet-agent-0.3.0.mjs\n`);
    // Without its .sha256 a file is not announced.
    await writeFile(join(dir, 'keyfleet-agent-0.4.0.mjs'), ARTIFACT);
    process.env.KEYFLEET_AGENT_ARTIFACT = dir;
    delete process.env.KEYFLEET_AGENT_VERSION;
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    process.env = saved;
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('describes and serves the artifact to an operator, an unused enrollment token and an enrolled host', async () => {
    const description = { version: '0.3.0', sha256: SHA, size: ARTIFACT.length, wantedVersion: '0.3.0', versions: ['0.3.0'] };
    expect(await expectStatus(agent({ token: t.adminToken }).artifact.$get({ query: {} }), 200)).toEqual(description);

    const token = await newToken();
    const byToken = await agent({ token }).artifact.file.$get({ query: { version: '0.3.0' } });
    expect(byToken.status).toBe(200);
    expect(await byToken.text()).toBe(ARTIFACT);
    expect(byToken.headers.get('x-keyfleet-agent-sha256')).toBe(SHA);

    const { key, hostId } = await enrollHost();
    const bySignature = agent({ authorization: signed(key, hostId, 'GET', '/v1/agent/artifact?version=0.3.0') });
    expect(await expectStatus(bySignature.artifact.$get({ query: { version: '0.3.0' } }), 200)).toEqual(description);
    // The token enrolled that host: used, it opens nothing any more.
    const usedToken = await newToken();
    await enroll(usedToken, createUser());
    expect(await refused(agent({ token: usedToken }).artifact.$get({ query: {} }))).toEqual({
      error: 'enrollment token is unknown, used, revoked or expired',
    });
    expect((await agent().artifact.$get({ query: {} })).status).toBe(401);
  });

  it('answers 404 with what is available for an unknown version', async () => {
    expect(await expectStatus(agent({ token: t.adminToken }).artifact.file.$get({ query: { version: '9.9.9' } }), 404)).toEqual({
      error: 'no agent artifact for version 9.9.9; available: 0.3.0',
    });
  });

  it('tells a host how the hub sees it only on its own valid, fresh signature', async () => {
    const { key, hostId } = await enrollHost();
    const self = (authorization: string) => agent({ authorization }).self.$get({ query: {} });
    expect(await expectStatus(self(signed(key, hostId, 'GET', '/v1/agent/self')), 200)).toMatchObject({
      hostId,
      hostname: 'kc-up',
      status: 'pending',
      agentVersion: '0.2.0',
      wantedVersion: '0.3.0',
    });

    const other = createUser();
    expect(await refused(self(signed(other, hostId, 'GET', '/v1/agent/self')))).toEqual({
      error: 'host signature does not verify for an enrolled host',
    });
    // Signed for another path: not a key to this one.
    expect((await self(signed(key, hostId, 'GET', '/v1/agent/artifact'))).status).toBe(401);
    const stale = await refused(self(signed(key, hostId, 'GET', '/v1/agent/self', { at: Date.now() - 600_000 })));
    expect(stale).toEqual({ error: expect.stringMatching(/^host signature is 600 s away from the hub's clock/) });
  });

  it('lets a host leave: its credential is revoked and its signature opens nothing after', async () => {
    const { key, hostId } = await enrollHost();
    const left = await expectStatus(agent({ authorization: signed(key, hostId, 'POST', '/v1/agent/leave') }).leave.$post(), 200);
    expect(left).toMatchObject({ hostId, revocationEnforced: true });
    expect(await CredentialRevoker.find(t.db, hostId)).toMatchObject({ reason: 'revoked' });
    const after = await refused(agent({ authorization: signed(key, hostId, 'GET', '/v1/agent/self') }).self.$get({ query: {} }));
    expect(after).toEqual({ error: `the credential of host ${hostId} was revoked (revoked)` });
    // An operator revokes through /v1/hosts/{id}/revoke, not here.
    expect((await agent({ token: t.adminToken }).leave.$post()).status).toBe(403);
  });

  it('stores an upgrade report only from the host itself, over the body it signed', async () => {
    const { key, hostId } = await enrollHost();
    const body = JSON.stringify({ attemptId: 'a1', from: '0.2.0', to: '0.3.0', state: 'rolled_back', reason: 'did not report' });
    const headers = (signedBody: string) => ({
      authorization: signed(key, hostId, 'POST', '/v1/agent/upgrade-report', { body: signedBody }),
      'content-type': 'application/json',
    });
    // The exact bytes signed matter here, so the body goes raw.
    const swapped = await t.raw('POST', '/v1/agent/upgrade-report', { body, headers: headers(body.replace('rolled_back', 'upgraded')) });
    expect(swapped.status).toBe(401);
    expect((await t.raw('POST', '/v1/agent/upgrade-report', { body, headers: headers(body) })).status).toBe(200);
    const list = await expectStatus(agent({ token: t.adminToken }).upgrades.$get({ query: {} }), 200);
    expect(list.items.find((h) => h.hostId === hostId)?.upgrade).toMatchObject({
      from: '0.2.0',
      to: '0.3.0',
      state: 'rolled_back',
      reason: 'did not report',
      attemptId: 'a1',
    });
    expect(list.wantedVersion).toBe('0.3.0');
  });

  it('serves the installer without credentials', async () => {
    const r = await agent()['install.sh'].$get();
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/x-shellscript/);
    const text = await r.text();
    expect(text).toMatch(/^#!\/bin\/sh\n/);
    expect(text.trimEnd().endsWith('main "$@"')).toBe(true);
  });
});
