import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatHostAuthorization, hostRequestPayload } from '@keyfleet/proto/v1';
import { createUser, type KeyPair } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRevoker } from '../../auth/credential-revoker.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

const ARTIFACT = '#!/usr/bin/env node\nconsole.log("0.3.0");\n';
const SHA = createHash('sha256').update(ARTIFACT).digest('hex');

describe('the agent routes', () => {
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

  const newToken = async () => {
    const r = await t.call('POST', '/v1/enrollment-tokens', { token: t.adminToken, body: {} });
    expect(r.status).toBe(201);
    return (r.json as { token: string }).token;
  };
  const enroll = async (token: string, key: KeyPair) => {
    const r = await t.call('POST', '/v1/enroll', { body: { token, publicKey: key.getPublicKey(), hostname: 'kc-up', agentVersion: '0.2.0' } });
    expect(r.status, r.text).toBe(201);
    return (r.json as { hostId: string }).hostId;
  };
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
    t = await createTestContext();
  });
  afterAll(async () => {
    process.env = saved;
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('describes and serves the artifact to an operator, an unused enrollment token and an enrolled host', async () => {
    const description = { version: '0.3.0', sha256: SHA, size: ARTIFACT.length, wantedVersion: '0.3.0', versions: ['0.3.0'] };
    expect((await t.call('GET', '/v1/agent/artifact', { token: t.adminToken })).json).toEqual(description);

    const token = await newToken();
    const byToken = await t.call('GET', '/v1/agent/artifact/file?version=0.3.0', { headers: { authorization: `Bearer ${token}` } });
    expect(byToken.status).toBe(200);
    expect(byToken.text).toBe(ARTIFACT);
    expect(byToken.headers.get('x-keyfleet-agent-sha256')).toBe(SHA);

    const { key, hostId } = await enrollHost();
    const path = '/v1/agent/artifact?version=0.3.0';
    expect((await t.call('GET', path, { headers: { authorization: signed(key, hostId, 'GET', path) } })).json).toEqual(description);
    // The token enrolled that host: used, it opens nothing any more.
    const usedToken = await newToken();
    await enroll(usedToken, createUser());
    const used = await t.call('GET', '/v1/agent/artifact', { headers: { authorization: `Bearer ${usedToken}` } });
    expect(used.status).toBe(401);
    expect(used.json).toEqual({ error: 'enrollment token is unknown, used, revoked or expired' });
    expect((await t.call('GET', '/v1/agent/artifact')).status).toBe(401);
  });

  it('answers 404 with what is available for an unknown version', async () => {
    const r = await t.call('GET', '/v1/agent/artifact/file?version=9.9.9', { token: t.adminToken });
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'no agent artifact for version 9.9.9; available: 0.3.0' });
  });

  it('tells a host how the hub sees it only on its own valid, fresh signature', async () => {
    const { key, hostId } = await enrollHost();
    const ok = await t.call('GET', '/v1/agent/self', { headers: { authorization: signed(key, hostId, 'GET', '/v1/agent/self') } });
    expect(ok.json).toMatchObject({ hostId, hostname: 'kc-up', status: 'pending', agentVersion: '0.2.0', wantedVersion: '0.3.0' });

    const other = createUser();
    const forged = await t.call('GET', '/v1/agent/self', { headers: { authorization: signed(other, hostId, 'GET', '/v1/agent/self') } });
    expect(forged.status).toBe(401);
    expect(forged.json).toEqual({ error: 'host signature does not verify for an enrolled host' });
    // Signed for another path: not a key to this one.
    const replayed = await t.call('GET', '/v1/agent/self', { headers: { authorization: signed(key, hostId, 'GET', '/v1/agent/artifact') } });
    expect(replayed.status).toBe(401);
    const stale = await t.call('GET', '/v1/agent/self', {
      headers: { authorization: signed(key, hostId, 'GET', '/v1/agent/self', { at: Date.now() - 600_000 }) },
    });
    expect(stale.status).toBe(401);
    expect((stale.json as { error: string }).error).toMatch(/^host signature is 600 s away from the hub's clock/);
  });

  it('lets a host leave: its credential is revoked and its signature opens nothing after', async () => {
    const { key, hostId } = await enrollHost();
    const left = await t.call('POST', '/v1/agent/leave', { headers: { authorization: signed(key, hostId, 'POST', '/v1/agent/leave') } });
    expect(left.status).toBe(200);
    expect(left.json).toMatchObject({ hostId, revocationEnforced: true });
    expect(await CredentialRevoker.find(t.db, hostId)).toMatchObject({ reason: 'revoked' });
    const after = await t.call('GET', '/v1/agent/self', { headers: { authorization: signed(key, hostId, 'GET', '/v1/agent/self') } });
    expect(after.status).toBe(401);
    expect(after.json).toEqual({ error: `the credential of host ${hostId} was revoked (revoked)` });
    // An operator revokes through /v1/hosts/{id}/revoke, not here.
    expect((await t.call('POST', '/v1/agent/leave', { token: t.adminToken })).status).toBe(403);
  });

  it('stores an upgrade report only from the host itself, over the body it signed', async () => {
    const { key, hostId } = await enrollHost();
    const body = JSON.stringify({ attemptId: 'a1', from: '0.2.0', to: '0.3.0', state: 'rolled_back', reason: 'did not report' });
    const headers = (signedBody: string) => ({
      authorization: signed(key, hostId, 'POST', '/v1/agent/upgrade-report', { body: signedBody }),
      'content-type': 'application/json',
    });
    const swapped = await t.call('POST', '/v1/agent/upgrade-report', { body, headers: headers(body.replace('rolled_back', 'upgraded')) });
    expect(swapped.status).toBe(401);
    expect((await t.call('POST', '/v1/agent/upgrade-report', { body, headers: headers(body) })).status).toBe(200);
    const list = await t.call('GET', '/v1/agent/upgrades', { token: t.adminToken });
    expect(list.json.items.find((h: { hostId: string }) => h.hostId === hostId).upgrade).toMatchObject({
      from: '0.2.0',
      to: '0.3.0',
      state: 'rolled_back',
      reason: 'did not report',
      attemptId: 'a1',
    });
    expect(list.json.wantedVersion).toBe('0.3.0');
  });

  it('serves the installer without credentials', async () => {
    const r = await t.call('GET', '/v1/agent/install.sh');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/x-shellscript/);
    expect(r.text).toMatch(/^#!\/bin\/sh\n/);
    expect(r.text.trimEnd().endsWith('main "$@"')).toBe(true);
  });
});
