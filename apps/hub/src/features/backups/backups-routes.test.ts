import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAgeFileKey } from '@keyfleet/proto/v1';
import { Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';
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

/**
 * Restoring onto a host with only the agent: the hub puts the Keycloak to install into the one
 * backup.restore task, by default the backup's host's last applied config (secret references,
 * hostname and bootstrap admin kept), installConfig's fields over it; every refusal comes before
 * a download token or task exists.
 */
describe.each(testBackends)('restore onto a host without Keycloak (%s)', (backend) => {
  let t: TestContext;
  let source: string;
  let fresh: string;
  let running: string;
  /** A host no Keycloak task has reported on yet. */
  let unreported: string;
  const version = '26.7.4';
  const sourceConfig = {
    version,
    runtime: 'process',
    distUrl: 'https://downloads.example.com/keycloak-26.7.4.tar.gz',
    database: { kind: 'external', url: 'jdbc:postgresql://db-a.example.com/keycloak', username: 'keycloak', password: { $secret: 'kc-db' } },
    hostname: 'https://id.example.com',
    httpPort: 8080,
    managementPort: 9000,
    features: [],
    bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
    verifyLogin: { grant: 'password', realm: 'shop', clientId: 'web', username: 'probe', password: { $secret: 'kc-probe' } },
  };
  const otherDb = { kind: 'external', url: 'jdbc:postgresql://db-b.example.com/keycloak', username: 'keycloak', password: { $secret: 'kc-db' } };
  const api = () => t.client.as(t.adminToken).routes<BackupsRoutes>('/v1').backups[':id'];

  /** A finished task of the host, as the dispatcher would have recorded it. */
  const finishedTask = async (hostId: string, type: string, params: unknown, state: 'succeeded' | 'failed', finishedAt: Date) => {
    const batch = `b_${randomBytes(6).toString('hex')}`;
    await t.db
      .insertInto('task_batches')
      .values({ id: batch, type, params: JSON.stringify(params), target: JSON.stringify({ kind: 'host', hostId }), created_by: 'test' })
      .execute();
    await t.db
      .insertInto('tasks')
      .values({
        id: `t_${randomBytes(6).toString('hex')}`,
        batch_id: batch,
        host_id: hostId,
        type,
        params: JSON.stringify(params),
        state,
        timeout_ms: 60_000,
        expires_at: finishedAt,
        finished_at: finishedAt,
        progress: null as never,
        output: null as never,
        error: null as never,
      })
      .execute();
  };
  /** The host's Keycloak as its last Keycloak task reported it. */
  const keycloakRow = (hostId: string, installed: boolean) =>
    t.db
      .insertInto('keycloak_hosts' as never)
      .values({
        host_id: hostId,
        instance: JSON.stringify(
          installed
            ? { installed, version, runtime: 'process', ready: true, baseUrl: 'http://x', realms: [], updatedAt: new Date().toISOString(), taskId: 't_1' }
            : { installed, updatedAt: new Date().toISOString(), taskId: 't_1' },
        ),
      } as never)
      .execute();
  const backup = (id: string, hostId: string) =>
    t.db
      .insertInto('backups' as never)
      .values({
        id,
        host_id: hostId,
        state: 'verified',
        recipients: JSON.stringify([]),
        storage_kind: 'local',
        storage_key: `${hostId}/${id}.tar.age`,
        sha256: 'a'.repeat(64),
        size_bytes: 1,
        manifest: JSON.stringify({ keycloak: { version }, database: { sha256: 'b'.repeat(64), size: 4096 } }),
      } as never)
      .execute();
  const counts = async () => ({
    tasks: (await t.db.selectFrom('tasks').select('id').execute()).length,
    downloads: (await sql<{ n: number }>`SELECT count(*)::int AS n FROM backup_downloads`.execute(t.db)).rows[0]!.n,
  });
  const restore = (id: string, json: Record<string, unknown>) => api().restore.$post({ param: { id }, json: { identitySecret: 'dr-key', ...json } as never });

  beforeAll(async () => {
    t = await createTestContext(backend);
    const types = ['backup.restore', 'keycloak.install', 'keycloak.update'];
    const add = (hostname: string) => t.addHost({ hostname, taskTypes: types });
    [source, fresh, running, unreported] = await Promise.all([add('kc-src'), add('kc-fresh'), add('kc-running'), add('kc-unreported')]);
    for (const name of ['dr-key', 'kc-db', 'kc-admin', 'kc-probe']) await t.secrets.put(name, `value-of-${name}`, 'test');
    // The source's history: installed at the backup's version, a later failed update to another.
    await finishedTask(source, 'keycloak.install', { ...sourceConfig, httpPort: 8081 }, 'succeeded', new Date(Date.now() - 3 * 3600_000));
    await finishedTask(source, 'keycloak.update', sourceConfig, 'succeeded', new Date(Date.now() - 2 * 3600_000));
    await finishedTask(source, 'keycloak.update', { ...sourceConfig, version: '26.8.0' }, 'failed', new Date(Date.now() - 3600_000));
    await keycloakRow(source, true);
    await keycloakRow(running, true);
    // keycloak.status found none there: a fresh host with only the agent.
    await keycloakRow(fresh, false);
    await backup('bk_fromsource01', source);
    // A backup of a host the hub has no Keycloak config of.
    await backup('bk_fromrunning1', running);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('installs the source’s last applied config of the backup’s version, installConfig’s fields over it: references, hostname and bootstrap admin kept', async () => {
    const started = await expectStatus(restore('bk_fromsource01', { hostId: fresh, installConfig: { database: otherDb } }), 201);
    expect(started.install).toBe(true);
    const task = await t.db.selectFrom('tasks').select(['params', 'host_id']).where('id', '=', started.taskId).executeTakeFirstOrThrow();
    expect(task.host_id).toBe(fresh);
    const { install } = task.params as { install: Record<string, unknown> };
    expect(install).toEqual({ ...sourceConfig, database: otherDb });
    expect(JSON.stringify(task.params)).not.toContain('value-of-');
  });

  it('refuses with 400 an install of another version, an invalid config, or none known, and with 409 installConfig for a host that runs Keycloak or the database the source still runs on; nothing is started', async () => {
    const before = await counts();
    const wrongVersion = await expectStatus(restore('bk_fromsource01', { hostId: fresh, installConfig: { version: '26.8.0', database: otherDb } }), 400);
    expect(wrongVersion.error).toBe(
      `backup bk_fromsource01 is of Keycloak ${version}, the Keycloak to install on host ${fresh} is 26.8.0: a restore does not move a database across versions (give installConfig with version ${version} and its distUrl)`,
    );
    const invalid = await expectStatus(restore('bk_fromsource01', { hostId: fresh, installConfig: { database: otherDb, httpPort: 'eighty' } }), 400);
    expect(invalid.error).toMatch(
      /^the Keycloak to install on host .* \(host .*'s config with installConfig over it\) is not a valid Keycloak config: httpPort: /,
    );
    const devFile = await expectStatus(restore('bk_fromsource01', { hostId: fresh, installConfig: { database: { kind: 'dev-file' } } }), 400);
    expect(devFile.error).toMatch(/^a backup restores into Postgres/);
    const unknown = await expectStatus(restore('bk_fromrunning1', { hostId: fresh }), 400);
    expect(unknown.error).toBe(
      `host ${fresh} has no Keycloak, so the restore installs Keycloak ${version} there first, and the hub knows no config of the backup's host ${running} (no succeeded keycloak.install or keycloak.update): give installConfig`,
    );
    const sameDb = await expectStatus(restore('bk_fromsource01', { hostId: fresh }), 409);
    expect(sameDb.error).toMatch(/would use jdbc:postgresql:\/\/db-a\.example\.com\/keycloak, the database host .* Keycloak still runs on/);
    const hasKeycloak = await expectStatus(restore('bk_fromsource01', { hostId: running, installConfig: { database: otherDb } }), 409);
    expect(hasKeycloak.error).toBe(
      `host ${running} runs Keycloak ${version}: a restore replaces its data and keeps its install, so installConfig (for a host without Keycloak) does not apply`,
    );
    const noHost = await expectStatus(restore('bk_fromsource01', { hostId: 'h_nosuchhost' }), 404);
    expect(noHost.error).toBe('target host h_nosuchhost not found');
    expect(await counts()).toEqual(before);
  });

  it('keeps today’s restore for a host that runs Keycloak, and a whole installConfig serves when the hub knows no config', async () => {
    const plain = await expectStatus(restore('bk_fromsource01', { hostId: running }), 201);
    expect(plain.install).toBe(false);
    const task = await t.db.selectFrom('tasks').select('params').where('id', '=', plain.taskId).executeTakeFirstOrThrow();
    expect(task.params).not.toHaveProperty('install');
    // Nothing known of the target and no config to install: today's restore (the agent refuses if it has no Keycloak).
    expect((await expectStatus(restore('bk_fromrunning1', { hostId: unreported }), 201)).install).toBe(false);

    const { verifyLogin: _, ...whole } = { ...sourceConfig, database: otherDb };
    const given = await expectStatus(restore('bk_fromrunning1', { hostId: fresh, installConfig: whole }), 201);
    const params = (await t.db.selectFrom('tasks').select('params').where('id', '=', given.taskId).executeTakeFirstOrThrow()).params;
    expect((params as { install: unknown }).install).toEqual(whole);
  });

  it('documents installConfig and its statuses in OpenAPI', async () => {
    const doc = (await t.raw('GET', '/v1/openapi.json')).json as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    const responses = doc.paths['/v1/backups/{id}/restore']!.post!.responses;
    expect(responses['400']!.description).toMatch(/not of the backup’s version/);
    expect(responses['409']!.description).toMatch(/installConfig for a host that runs Keycloak/);
    expect(JSON.stringify(doc.paths['/v1/backups/{id}/restore'])).toContain('installConfig');
  });
});
