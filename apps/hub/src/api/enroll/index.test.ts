import * as v1 from '@keyfleet/proto/v1';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

const publicKey = () => createUser().getPublicKey();

function jwtClaims(jwt: string): { sub: string; nats: { pub: { allow: string[] } } } {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
}

describe.each(testBackends)('POST /v1/enroll (%s)', (backend) => {
  let t: TestContext;
  const newToken = (json: { labels?: Record<string, string> } = {}) => expectStatus(t.api(t.adminToken).v1['enrollment-tokens'].$post({ json }), 201);
  const enroll = (json: { token: string; publicKey: string; hostname: string; labels?: Record<string, string>; agentVersion: string }) =>
    t.api().v1.enroll.$post({ json });

  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('enrolls a pending host, merges labels with the token’s winning, and mints a JWT for the agent’s key', async () => {
    const { id: tokenId, token } = await newToken({ labels: { env: 'prod', region: 'eu-1' } });
    const key = publicKey();
    const { hostId, natsServers, jwt } = await expectStatus(
      enroll({ token, publicKey: key, hostname: 'kc-1', labels: { env: 'dev', rack: 'r7' }, agentVersion: '0.1.0' }),
      201,
    );
    expect(hostId).toMatch(/^h_[0-9a-z]{20}$/);
    expect(v1.ids.host.safeParse(hostId).success).toBe(true);
    expect(natsServers).toEqual(['nats://127.0.0.1:4222']);
    const claims = jwtClaims(jwt);
    expect(claims.sub).toBe(key);
    expect(claims.nats.pub.allow).toEqual([v1.subjects.hub.all(hostId)]);

    const host = await t.db.selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirstOrThrow();
    expect(host).toMatchObject({ hostname: 'kc-1', status: 'pending', nkey_public: key, agent_version: '0.1.0', task_types: [], last_heartbeat: null });
    expect(host.labels).toEqual({ env: 'prod', region: 'eu-1', rack: 'r7' });

    const used = await t.db.selectFrom('enrollment_tokens').selectAll().where('id', '=', tokenId).executeTakeFirstOrThrow();
    expect(used.used_at).toBeInstanceOf(Date);
    expect(used.used_by_host).toBe(hostId);

    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'hosts.enroll').where('target', '=', hostId).executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor: `enrollment:${tokenId}`, outcome: 'ok' });
    expect(JSON.stringify(audit)).not.toContain(token);
    expect(JSON.stringify(audit)).not.toContain(jwt);
  });

  it('is single use: a second enrollment with the same token gets 401', async () => {
    const { token } = await newToken();
    const body = { token, hostname: 'kc-2', agentVersion: '0.1.0' };
    await expectStatus(enroll({ ...body, publicKey: publicKey() }), 201);
    expect((await expectStatus(enroll({ ...body, publicKey: publicKey() }), 401)).error).toBe('enrollment token was already used');
  });

  it('lets exactly one of several concurrent enrollments with one token win', async () => {
    // On Postgres the requests run at once on a pool of connections; PGlite takes them one by one.
    const { id: tokenId, token } = await newToken();
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await enroll({ token, publicKey: publicKey(), hostname: `race-${i}`, agentVersion: '0.1.0' });
        return { status: res.status, body: await res.json() };
      }),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401, 401, 401, 401, 401, 401]);
    expect(results.filter((r) => r.status === 401).map((r) => r.body)).toEqual(Array(7).fill({ error: 'enrollment token was already used' }));
    const hosts = await t.db.selectFrom('hosts').select('id').where('hostname', 'like', 'race-%').execute();
    expect(hosts).toHaveLength(1);
    const audit = await t.db.selectFrom('audit_log').select('outcome').where('actor', '=', `enrollment:${tokenId}`).execute();
    expect(audit.map((a) => a.outcome).sort()).toEqual([...Array(7).fill('denied'), 'ok']);
  });

  it('refuses expired, revoked and unknown tokens with 401 and a clear reason, audited as denied', async () => {
    const expired = await newToken();
    await t.db
      .updateTable('enrollment_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', expired.id)
      .execute();
    const revoked = await newToken();
    await expectStatus(t.api(t.adminToken).v1['enrollment-tokens'][':id'].$delete({ param: { id: revoked.id } }), 200);

    const refusal = async (token: string) =>
      (await expectStatus(enroll({ token, publicKey: publicKey(), hostname: 'nope', agentVersion: '0.1.0' }), 401)).error;
    expect(await refusal(expired.token)).toMatch(/^enrollment token expired at \d{4}-/);
    expect(await refusal(revoked.token)).toBe('enrollment token was revoked');
    expect(await refusal('kfe_not-a-real-token')).toBe('unknown enrollment token');

    const denied = await t.db
      .selectFrom('audit_log')
      .select(['actor', 'outcome'])
      .where('action', '=', 'hosts.enroll')
      .where('outcome', '=', 'denied')
      .execute();
    expect(denied.map((d) => d.actor)).toEqual(expect.arrayContaining([`enrollment:${expired.id}`, `enrollment:${revoked.id}`, 'anonymous']));
    expect(await t.db.selectFrom('hosts').select('id').where('hostname', '=', 'nope').execute()).toEqual([]);
  });

  it('rejects a malformed public key with 400 naming the field, without using the token', async () => {
    const { id, token } = await newToken();
    // One character changed breaks the key's checksum; it must really change (a key may end in A).
    const key = publicKey();
    const corrupt = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    for (const bad of ['SUAFOO', corrupt]) {
      const res = await expectStatus(enroll({ token, publicKey: bad, hostname: 'x', agentVersion: '1' }), 400);
      expect(res.error).toMatch(/^invalid body: publicKey: must be a NATS user public nkey/);
    }
    const row = await t.db.selectFrom('enrollment_tokens').select('used_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.used_at).toBeNull();
    const audit = await t.db.selectFrom('audit_log').select(['action', 'outcome', 'detail']).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'hosts.enroll', outcome: 'error', detail: { status: 400 } });
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('answers 409 for a key that is already enrolled and leaves the token unused', async () => {
    const key = publicKey();
    const first = await newToken();
    await expectStatus(enroll({ token: first.token, publicKey: key, hostname: 'dup', agentVersion: '1' }), 201);
    const second = await newToken();
    await expectStatus(enroll({ token: second.token, publicKey: key, hostname: 'dup', agentVersion: '1' }), 409);
    const row = await t.db.selectFrom('enrollment_tokens').select('used_at').where('id', '=', second.id).executeTakeFirstOrThrow();
    expect(row.used_at).toBeNull();
  });
});
