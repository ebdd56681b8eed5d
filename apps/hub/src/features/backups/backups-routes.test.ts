import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAgeFileKey } from '@keyfleet/proto/v1';
import { Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import type { BackupsRoutes } from './index.js';

/**
 * Restores and drills with an age identity given for one call (`--identity-file`): the hub opens
 * the backup's header with it, keeps only the backup's file key (sealed, single use), and the
 * identity is nowhere afterwards: not in task params, results, the audit log or any table.
 */
describe('restore and drill with an identity for one call', () => {
  let t: TestContext;
  let dir: string;
  let hostId: string;
  let identity: string;
  /** The identity as age-keygen writes its file: comments, then the key. */
  let keyFile: string;
  const plaintext = Buffer.from('a backup unit tar would be here\n'.repeat(1000));
  const api = () => t.client.as(t.adminToken).routes<BackupsRoutes>('/v1').backups[':id'];
  const previousDir = process.env.KEYFLEET_BACKUP_DIR;

  /** A stored backup whose object is `plaintext` encrypted to `recipient`. */
  const storedBackup = async (id: string, recipient: string) => {
    const key = `${hostId}/${id}.tar.age`;
    const enc = new Encrypter();
    enc.addRecipient(recipient);
    await mkdir(join(dir, hostId), { recursive: true });
    await writeFile(join(dir, key), await enc.encrypt(plaintext));
    await t.db
      .insertInto('backups' as never)
      .values({
        id,
        host_id: hostId,
        state: 'stored',
        recipients: JSON.stringify([{ keyId: 'bkey_1', name: 'test', recipient }]),
        storage_kind: 'local',
        storage_key: key,
        sha256: 'a'.repeat(64),
        size_bytes: 1,
        manifest: JSON.stringify({ keycloak: { version: '26.7.4' }, database: { sha256: 'b'.repeat(64), size: 4096 } }),
      } as never)
      .execute();
  };

  /** Everything the database holds, as text: the identity must appear nowhere in it. */
  const wholeDatabase = async () => {
    const tables = ['tasks', 'task_batches', 'audit_log', 'secrets', 'backup_downloads', 'backups'];
    const rows = await Promise.all(tables.map((name) => sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(name)} t`.execute(t.db)));
    return rows.flatMap((r) => r.rows.map((x) => x.row)).join('\n');
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-restore-identity-'));
    process.env.KEYFLEET_BACKUP_DIR = dir;
    t = await createTestContext('pglite');
    hostId = await t.addHost({ hostname: 'kc-1', taskTypes: ['backup.restore', 'backup.drill'] });
    identity = await generateIdentity();
    keyFile = `# created: 2026-12-01T00:00:00Z\n# public key: ${await identityToRecipient(identity)}\n${identity}\n`;
    await storedBackup('bk_percall0001', await identityToRecipient(identity));
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
    if (previousDir === undefined) delete process.env.KEYFLEET_BACKUP_DIR;
    else process.env.KEYFLEET_BACKUP_DIR = previousDir;
  });

  it('restores: the task carries a single-use token only, the hub decrypts with the file key once, and the identity is stored nowhere', async () => {
    const started = await expectStatus(api().restore.$post({ param: { id: 'bk_percall0001' }, json: { hostId, identity: keyFile } }), 201);
    const task = await t.db.selectFrom('tasks').select(['params']).where('id', '=', started.taskId).executeTakeFirstOrThrow();
    const params = task.params as { source: { url: string; token: { $secret: string } } };
    expect(Object.keys(params).sort()).toEqual(['backupId', 'dumpBytes', 'dumpSha256', 'keycloakVersion', 'source']);
    expect((params as unknown as { dumpBytes: number }).dumpBytes).toBe(4096);
    const tokenName = params.source.token.$secret;
    const fileKeyName = `${tokenName}.filekey`;
    const { values } = await t.secrets.reveal([tokenName, fileKeyName]);
    expect(decodeAgeFileKey(values.get(fileKeyName)!)).toHaveLength(16);
    const secretPart = identity.slice('AGE-SECRET-KEY-1'.length);
    expect(await wholeDatabase()).not.toContain(secretPart);

    // The target's fetch: the plaintext, decrypted with the file key; then the key is gone.
    const res = await t.raw('GET', params.source.url, { headers: { authorization: `Bearer ${values.get(tokenName)}` } });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe(plaintext.toString());
    expect((await t.secrets.reveal([fileKeyName])).values.has(fileKeyName)).toBe(false);
    // Single use: the token opens nothing a second time.
    expect((await t.raw('GET', params.source.url, { headers: { authorization: `Bearer ${values.get(tokenName)}` } })).status).toBe(401);
  });

  it('refuses an identity that does not open the backup, or is none, with a 400 that does not echo it, and starts nothing', async () => {
    const tasksBefore = (await t.db.selectFrom('tasks').select('id').execute()).length;
    const secretsBefore = (await t.secrets.list()).map((s) => s.name);
    const other = await generateIdentity();
    const wrong = await expectStatus(api().restore.$post({ param: { id: 'bk_percall0001' }, json: { hostId, identity: other } }), 400);
    expect(wrong.error).toBe('the identity does not open backup bk_percall0001: it is not one of the recipients the backup was encrypted to');
    const none = await expectStatus(api().restore.$post({ param: { id: 'bk_percall0001' }, json: { hostId, identity: 'age1notanidentity' } }), 400);
    expect(none.error).toMatch(/^the identity holds no age identity/);
    const broken = await expectStatus(api().restore.$post({ param: { id: 'bk_percall0001' }, json: { hostId, identity: 'AGE-SECRET-KEY-1NOTBECH32' } }), 400);
    expect(broken.error).not.toContain('NOTBECH32');
    const both = await expectStatus(api().restore.$post({ param: { id: 'bk_percall0001' }, json: { hostId, identity, identitySecret: 'dr-key' } }), 400);
    expect(both.error).toMatch(/^give exactly one of identitySecret/);
    await expectStatus(api().restore.$post({ param: { id: 'bk_percall0001' }, json: { hostId } }), 400);
    const missing = await expectStatus(api().restore.$post({ param: { id: 'bk_percall0001' }, json: { hostId, identitySecret: 'no-such-key' } }), 404);
    expect(missing.error).toMatch(/^no secret no-such-key: .*--identity-file/);
    expect((await t.db.selectFrom('tasks').select('id').execute()).length).toBe(tasksBefore);
    expect((await t.secrets.list()).map((s) => s.name)).toEqual(secretsBefore);
    expect(await wholeDatabase()).not.toContain(other.slice('AGE-SECRET-KEY-1'.length));
  });

  it('drills: the drill host gets the backup’s file key as its identity, never the identity', async () => {
    const started = await expectStatus(
      api().drill.$post({
        param: { id: 'bk_percall0001' },
        json: { hostId, identity: keyFile, scratchUrl: 'postgres://drill@127.0.0.1/postgres', keycloak: 'skip' },
      }),
      201,
    );
    const task = await t.db.selectFrom('tasks').select(['params']).where('id', '=', started.taskId).executeTakeFirstOrThrow();
    const opener = (task.params as { identity: { $secret: string } }).identity.$secret;
    expect(opener).toMatch(/^backup-download\.bk_percall0001\.[0-9a-f]+\.filekey$/);
    const value = (await t.secrets.reveal([opener])).values.get(opener)!;
    expect(value).not.toContain('AGE-SECRET-KEY');
    expect(decodeAgeFileKey(value)).toHaveLength(16);
    expect(await wholeDatabase()).not.toContain(identity.slice('AGE-SECRET-KEY-1'.length));
  });

  it('documents the statuses in the OpenAPI route declarations', async () => {
    const doc = (await t.raw('GET', '/v1/openapi.json')).json as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    for (const path of ['/v1/backups/{id}/restore', '/v1/backups/{id}/drill']) {
      const responses = doc.paths[path]!.post!.responses;
      expect(Object.keys(responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409']));
      expect(responses['400']!.description).toMatch(/does not open this backup/);
    }
  });
});
