import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatHostAuthorization, hostRequestPayload, preUpdateBackupTarget } from '@keyfleet/proto/v1';
import { createUser, type KeyPair } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { hashBackupToken } from './backup-token.js';
import { backupsDb } from './backups-tables.js';

const PATH = '/v1/agent/pre-update-backups';
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

describe('the pre-update backup route (a host about to upgrade its Keycloak)', () => {
  let t: TestContext;
  let dir: string;
  const previousDir = process.env.KEYFLEET_BACKUP_DIR;

  /** A signed request of `key`'s host with exactly this body. */
  const ask = (key: KeyPair, hostId: string, body = JSON.stringify({ fromVersion: '26.4.7', toVersion: '26.7.4' })) => {
    const timestampMs = Date.now();
    const payload = hostRequestPayload({
      method: 'POST',
      pathAndQuery: PATH,
      hostId,
      timestampMs,
      bodySha256: createHash('sha256').update(body).digest('hex'),
    });
    const authorization = formatHostAuthorization(hostId, timestampMs, key.sign(new TextEncoder().encode(payload)));
    return t.raw('POST', PATH, { body, headers: { authorization, 'content-type': 'application/json' } });
  };
  const enrollHost = async () => {
    const key = createUser();
    const { token } = await expectStatus(t.api(t.adminToken).v1['enrollment-tokens'].$post({ json: {} }), 201);
    const { hostId } = await expectStatus(
      t.api().v1.enroll.$post({ json: { token, publicKey: key.getPublicKey(), hostname: 'kc-up', agentVersion: '0.2.0' } }),
      201,
    );
    return { key, hostId };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-pre-update-'));
    process.env.KEYFLEET_BACKUP_DIR = dir;
    t = await createTestContext('pglite');
  });
  afterAll(async () => {
    await t?.close();
    if (previousDir === undefined) delete process.env.KEYFLEET_BACKUP_DIR;
    else process.env.KEYFLEET_BACKUP_DIR = previousDir;
    await rm(dir, { recursive: true, force: true });
  });

  it('fails closed without recipients, takes only the host’s own signature, and opens an entry of that host with a single-use upload target', async () => {
    const { key, hostId } = await enrollHost();
    const none = await ask(key, hostId);
    expect(none.status).toBe(409);
    expect(none.json).toEqual({ error: expect.stringMatching(/^no backup recipients/) });

    expect((await t.raw('POST', '/v1/backup-keys', { token: t.adminToken, body: { name: 'offline', recipient: RECIPIENT } })).status).toBe(201);
    // An operator's token is not a host: it cannot open an entry in a host's name.
    const byOperator = await t.raw('POST', PATH, { token: t.adminToken, body: { fromVersion: '26.4.7', toVersion: '26.7.4' } });
    expect(byOperator.status).toBe(403);
    // A signature over another body does not carry this one.
    const timestampMs = Date.now();
    const payload = hostRequestPayload({
      method: 'POST',
      pathAndQuery: PATH,
      hostId,
      timestampMs,
      bodySha256: createHash('sha256').update('{}').digest('hex'),
    });
    const forged = await t.raw('POST', PATH, {
      body: JSON.stringify({ fromVersion: '26.4.7', toVersion: '26.7.4' }),
      headers: { authorization: formatHostAuthorization(hostId, timestampMs, key.sign(new TextEncoder().encode(payload))), 'content-type': 'application/json' },
    });
    expect(forged.status).toBe(401);

    const opened = await ask(key, hostId);
    expect(opened.status, opened.text).toBe(201);
    const target = preUpdateBackupTarget.parse(opened.json);
    expect(target).toMatchObject({ recipients: [RECIPIENT], upload: { url: `/v1/backup-uploads/${target.backupId}`, mode: 'stream' } });
    const row = await backupsDb(t.db).selectFrom('backups').selectAll().where('id', '=', target.backupId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ host_id: hostId, state: 'running', task_id: null, schedule_id: null, upload_token_hash: hashBackupToken(target.upload.token) });
    // Only the hash is kept: the token itself is nowhere in the database.
    expect(JSON.stringify(await t.db.selectFrom('secrets').selectAll().execute())).not.toContain(target.upload.token);
    expect(JSON.stringify(row)).not.toContain(target.upload.token);
  });
});
