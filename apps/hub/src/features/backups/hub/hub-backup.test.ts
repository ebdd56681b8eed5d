import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { tarEntries } from '@keyfleet/backup-tar';
import { createLogger } from '@keyfleet/log';
import { type S3Server, startS3Server } from '@keyfleet/test-harness';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubMetrics } from '../../../metrics/hub-metrics.js';
import { createDb } from '../../../store/create-db.js';
import { expectStatus } from '../../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../../testing/test-context.js';
import { testBackends } from '../../../testing/test-database.js';
import { registerBackupMetrics } from '../backup-metrics.js';
import { backupsStorage } from '../backups-storage.js';
import type { BackupsRoutes } from '../index.js';
import { scheduleTick } from '../schedules/schedule-tick.js';
import { S3Storage } from '../storage/s3-storage.js';
import type { HubBackupManifest } from './hub-backup-manifest.js';
import { readDbFacts } from './read-db-facts.js';
import { runHubBackup } from './run-hub-backup.js';

const run = promisify(execFile);

/**
 * Backups of the hub's own database, on both databases the hub runs on: written by the hub to
 * the fleet's recipients and storage as host `hub`, listed, counted by the metrics, drilled on
 * the hub, and recovered with stock tools only (age, tar, pg_restore; an embedded hub's data dir
 * opened as a hub opens it).
 */
describe.each(testBackends)('hub backups (%s)', (backend) => {
  let t: TestContext;
  let s3: S3Server;
  let dir: string;
  let identity: string;
  let keyFile: string;
  const previousDir = process.env.KEYFLEET_BACKUP_DIR;
  const api = () => t.client.as(t.adminToken).routes<BackupsRoutes>('/v1');
  /** A Postgres for scratch databases: the test's own server (Postgres), unused on PGlite. */
  const scratchUrl = () => (backend === 'postgres' ? (t.database.clientConfig.connectionString as string) : undefined);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-hub-backup-'));
    process.env.KEYFLEET_BACKUP_DIR = join(dir, 'store');
    [t, s3] = await Promise.all([createTestContext(backend), startS3Server()]);
    identity = await generateIdentity();
    keyFile = join(dir, 'backup-key.txt');
    await writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await t?.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
    if (previousDir === undefined) delete process.env.KEYFLEET_BACKUP_DIR;
    else process.env.KEYFLEET_BACKUP_DIR = previousDir;
  });

  it('refuses without a recipient (fail closed), writing nothing', async () => {
    const res = await expectStatus(api().backups.hub.$post(), 409);
    expect(res.error).toMatch(/^no backup recipients/);
    expect(
      await t.db
        .selectFrom('backups' as never)
        .selectAll()
        .execute(),
    ).toEqual([]);
  });

  let backupId: string;
  let manifest: HubBackupManifest;

  it('writes a unit of host hub to the recipients and storage: listed, with its manifest, counted by the metrics', async () => {
    await expectStatus(api()['backup-keys'].$post({ json: { name: 'dr', recipient: await identityToRecipient(identity) } }), 201);
    const started = Date.now();
    const made = await expectStatus(api().backups.hub.$post(), 201);
    expect(made, made.error).toMatchObject({ hostId: 'hub', state: 'stored' });
    console.log(`[${backend}] hub backup: ${made.sizeBytes} bytes in ${Date.now() - started} ms`);
    backupId = made.id;
    const listed = await expectStatus(api().backups.$get({ query: { host: 'hub' } }), 200);
    expect(listed.items.map((b) => [b.id, b.state, b.sha256])).toEqual([[backupId, 'stored', made.sha256]]);
    const shown = await expectStatus(api().backups[':id'].$get({ param: { id: backupId } }), 200);
    manifest = shown.manifest as unknown as HubBackupManifest;
    expect(manifest).toMatchObject({ format: 'keyfleet-hub-backup/1', backupId, hub: { database: backend } });
    expect(manifest.migration).toMatch(/^\d{4}-/);
    expect(manifest.tables.hosts).toBe(0);
    expect(manifest.tables.backup_keys).toBe(1);
    expect(manifest.tables.api_tokens).toBeGreaterThan(0);

    const metrics = new HubMetrics(t.db);
    registerBackupMetrics({ db: t.db, metrics });
    expect(await metrics.registry.metrics()).toMatch(/^keyfleet_backup_last_success_timestamp\{host="hub"\} \d+/m);
  });

  it('recovers with stock tools only: age -d, tar, then pg_restore (Postgres) or the data dir opened as a hub opens it (embedded)', async () => {
    const out = join(dir, 'restore');
    await mkdir(out);
    const object = join(process.env.KEYFLEET_BACKUP_DIR!, 'hub', `${backupId}.tar.age`);
    await run('sh', ['-c', `age -d -i "${keyFile}" "${object}" | tar -x -C "${out}"`]);
    const restored = await (async () => {
      if (backend === 'postgres') {
        const admin = new pg.Client({ connectionString: scratchUrl() });
        await admin.connect();
        await admin.query('CREATE DATABASE hub_recovered');
        await admin.end();
        const url = scratchUrl()!.replace(/\/[^/?]*(\?|$)/, '/hub_recovered$1');
        await run('sh', ['-c', `cat "${out}"/database/hub.dump.* | pg_restore --no-owner --no-privileges --exit-on-error -d "${url}"`]);
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return await readDbFacts(async (text) => (await client.query(text)).rows);
        } finally {
          await client.end();
        }
      }
      // An embedded hub comes back by putting the data dir where KEYFLEET_DATA_DIR expects it.
      const dataDir = join(dir, 'data', 'hub-db');
      await mkdir(join(dir, 'data'));
      await rename(join(out, 'database', 'pgdata'), dataDir);
      const handle = await createDb({ dataDir });
      try {
        return await readDbFacts(
          async (text) => (await handle.db.executeQuery({ sql: text, parameters: [], query: { kind: 'RawNode' } } as never)).rows as never,
        );
      } finally {
        await handle.close();
      }
    })();
    expect(restored.migration).toBe(manifest.migration);
    expect(restored.tables).toEqual(manifest.tables);
    expect((await readdir(out)).sort()).toEqual(['database', 'manifest.json']);
  });

  it('drills on the hub with an identity given for the call: restored into a scratch copy, same migration and rows per table; verified', async () => {
    const started = Date.now();
    const verdict = await expectStatus(api().backups[':id']['hub-drill'].$post({ param: { id: backupId }, json: { identity, scratchUrl: scratchUrl() } }), 200);
    console.log(`[${backend}] hub drill: ${Date.now() - started} ms`);
    expect(verdict, JSON.stringify(verdict)).toMatchObject({ ok: true });
    expect(verdict.checks?.map((c) => c.name)).toEqual(
      backend === 'postgres' ? ['ciphertext', 'dump', 'database', 'tables', 'migration'] : ['ciphertext', 'files', 'database', 'tables', 'migration'],
    );
    const shown = await expectStatus(api().backups[':id'].$get({ param: { id: backupId } }), 200);
    expect(shown).toMatchObject({ state: 'verified', lastDrill: { ok: true, hostId: 'hub' } });
    const other = await generateIdentity();
    const wrong = await expectStatus(
      api().backups[':id']['hub-drill'].$post({ param: { id: backupId }, json: { identity: other, scratchUrl: scratchUrl() } }),
      200,
    );
    expect(wrong.ok).toBe(false);
    expect(wrong.error).toMatch(/FAILED its drill: cannot decrypt/);
    expect(JSON.stringify(await t.db.selectFrom('audit_log').selectAll().execute())).not.toContain(other.slice(20));
    // Neither the host restore nor the host drill takes it: they would hand it to an agent.
    const restore = await expectStatus(api().backups[':id'].restore.$post({ param: { id: backupId }, json: { hostId: 'h_none', identity } }), 409);
    expect(restore.error).toMatch(/of the hub's own database: it is restored by hand/);
    const hostDrill = await expectStatus(
      api().backups[':id'].drill.$post({ param: { id: backupId }, json: { hostId: 'h_none', identity, scratchUrl: 'postgres://x@127.0.0.1/x' } }),
      409,
    );
    expect(hostDrill.error).toMatch(/drill it on the hub/);
  });

  it('writes the unit to S3 by presigned parts; what S3 holds is what the catalog says and decrypts to the unit', async () => {
    const store = new S3Storage({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: s3.bucket,
      prefix: 'kf/',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    const started = Date.now();
    const made = await runHubBackup({ db: t.db, dbSource: t.database.source, storage: async () => store });
    console.log(`[${backend}] hub backup to S3: ${made.sizeBytes} bytes in ${Date.now() - started} ms`);
    expect(made, made.error).toMatchObject({ state: 'stored' });
    const key = `hub/${made.id}.tar.age`;
    expect(await store.digest(key)).toEqual({ size: made.sizeBytes, sha256: made.sha256 });
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    const plaintext = await decrypter.decrypt(Readable.toWeb(await store.read(key)) as unknown as ReadableStream<Uint8Array>);
    const names: string[] = [];
    let last = '';
    for await (const e of tarEntries(Readable.fromWeb(plaintext as unknown as WebReadableStream<Uint8Array>))) {
      names.push(e.name);
      if (e.name === 'manifest.json') for await (const c of e.body) last += c.toString();
    }
    expect(names.at(-1)).toBe('manifest.json');
    expect(JSON.parse(last)).toMatchObject({ backupId: made.id, hub: { database: backend } });
  });

  it('backs the hub up on a schedule: two hubs ticking at once fire each run once, one unit of host hub; the schedule’s retention prunes its hub backups', async () => {
    const schedule = await expectStatus(
      api()['backup-schedules'].$post({
        json: { name: 'hub-nightly', kind: 'backup', cron: '0 2 * * *', hub: true, windowSeconds: 0, retention: { keepLast: 1 } },
      }),
      201,
    );
    expect(schedule.hub).toBe(true);
    const selector = await expectStatus(
      api()['backup-schedules'].$post({ json: { name: 'hub-selector', kind: 'backup', cron: '0 2 * * *', hub: true, selector: 'env=prod' } }),
      400,
    );
    expect(selector.error).toMatch(/without a selector/);
    const second = t.database.connect();
    const hubOn = (db: typeof t.db) => ({
      db,
      secrets: t.secrets,
      dispatcher: t.dispatcher,
      storage: backupsStorage(t),
      dbSource: t.database.source,
      log: createLogger('hub-backup-test', { level: 'silent' }),
    });
    const day = 86_400_000;
    const mine = () =>
      t.db
        .selectFrom('backups' as never)
        .select(['id', 'state'] as never)
        .where('schedule_id' as never, '=', schedule.id as never)
        .orderBy('started_at' as never)
        .execute() as Promise<Array<{ id: string; state: string }>>;
    for (const days of [2, 3]) {
      const now = new Date(Date.now() + days * day);
      const [a, b] = await Promise.all([scheduleTick(hubOn(t.db), now), scheduleTick(hubOn(second), now)]);
      expect(a.fired.length + b.fired.length).toBe(1);
      expect(
        a.started + b.started,
        JSON.stringify(
          await t.db
            .selectFrom('backup_schedule_units' as never)
            .selectAll()
            .execute(),
        ),
      ).toBe(1);
    }
    const backups = await mine();
    expect(backups.map((b) => b.state)).toEqual(['stored', 'stored']);
    // The next pass settles the second run and applies the retention: the older hub backup goes.
    await scheduleTick(hubOn(t.db), new Date(Date.now() + 3 * day + 1000));
    expect((await mine()).map((b) => b.state)).toEqual(['pruned', 'stored']);
    const units = await expectStatus(api()['backup-schedules'][':id'].$get({ param: { id: schedule.id } }), 200);
    expect(units.lastRunUnits.map((u) => [u.hostId, u.state, u.backupId])).toEqual([['hub', 'succeeded', backups[1]!.id]]);
    await second.destroy();
  });

  it('drills the hub’s newest backup on a schedule, on the hub that claims the unit, with the identity from the secret store', async () => {
    await t.secrets.put('hub-backup-identity', identity, 'test');
    const drill = { hostId: 'hub', identitySecret: 'hub-backup-identity', scratchUrl: scratchUrl() ?? 'postgres://unused@127.0.0.1/unused' };
    const elsewhere = await expectStatus(
      api()['backup-schedules'].$post({ json: { name: 'hub-drill-x', kind: 'drill', cron: '0 3 * * *', hub: true, drill: { ...drill, hostId: 'h_other' } } }),
      400,
    );
    expect(elsewhere.error).toMatch(/drill.hostId hub/);
    const schedule = await expectStatus(
      api()['backup-schedules'].$post({ json: { name: 'hub-drill', kind: 'drill', cron: '0 3 * * *', hub: true, windowSeconds: 0, drill } }),
      201,
    );
    const newest = await expectStatus(api().backups.$get({ query: { host: 'hub', state: 'stored', limit: 1 } }), 200);
    const result = await scheduleTick(
      { db: t.db, secrets: t.secrets, dispatcher: t.dispatcher, storage: backupsStorage(t), log: createLogger('hub-backup-test', { level: 'silent' }) },
      new Date(Date.now() + 5 * 86_400_000),
    );
    expect(result.started).toBe(1);
    const shown = await expectStatus(api()['backup-schedules'][':id'].$get({ param: { id: schedule.id } }), 200);
    expect(shown.lastRunUnits.map((u) => [u.hostId, u.state, u.backupId, u.error])).toEqual([['hub', 'succeeded', newest.items[0]!.id, null]]);
    expect(await expectStatus(api().backups[':id'].$get({ param: { id: newest.items[0]!.id } }), 200)).toMatchObject({ state: 'verified' });
  });
});
