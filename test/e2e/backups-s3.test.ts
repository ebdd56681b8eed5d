import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type BackupsRoutes,
  expectStatus,
  startFleet,
  startPostgres,
  startS3Server,
  waitForTask,
  type AgentProcess,
  type Fleet,
  type PostgresServer,
  type S3Server,
} from '@keyfleet/test-harness';
import { uploadSecretName } from '../../apps/hub/src/features/backups/backup-token.js';
import { SecretBox } from '../../apps/hub/src/secrets/secret-box.js';
import { expectSucceeded, putSecret } from './keycloak-e2e.js';
import { writeStoppedKeycloakRecord } from './stopped-keycloak-record.js';

const run = promisify(execFile);

/**
 * Backup storage on a real S3-compatible server (versitygw, posix backend): the agent uploads
 * parts to presigned URLs, the hub completes the multipart upload and checks what the store
 * holds. The database is a real Postgres shaped like Keycloak's (the tables backups read) rather
 * than a Keycloak, which backups.test.ts covers: here storage and faults are the subject, and a
 * lock held on a table stops pg_dump exactly where a fault is to strike.
 */
describe('backups to S3 (versitygw): multipart through presigned URLs, faults', () => {
  const started = Date.now();
  let s3: S3Server;
  let fleet: Fleet;
  let kcDb: PostgresServer;
  let agent: AgentProcess;
  let drillHost: AgentProcess;
  let work: string;
  /** The hub's secret key, known to the test so it can open what the hub sealed (the agent's upload token). */
  const hubSecretKey = randomBytes(32);
  let keyFile: string;
  let kid: string;
  let firstBackup: string;
  const USERS = 40;

  const psql = async (url: string, query: string) => (await run('psql', ['-At', '-d', url, '-c', query])).stdout.trim();
  const rootUrl = () => kcDb.url.replace(/\/[^/]*$/, '/postgres');

  /** Holds ACCESS EXCLUSIVE on the filler table, so pg_dump waits; `release` lets it go on. */
  async function lockFiller(): Promise<{ release(): Promise<void> }> {
    const child: ChildProcess = spawn('psql', ['-d', kcDb.url, '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const locked = new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    child.stdin!.write("BEGIN; LOCK TABLE filler IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
    await locked;
    return {
      async release() {
        const exited = new Promise((r) => child.once('exit', r));
        child.stdin!.end('COMMIT;\n');
        await exited;
      },
    };
  }

  /** The positive signal that a backup reached pg_dump and waits there on the lock. */
  async function pgDumpWaiting(): Promise<void> {
    await vi.waitFor(
      async () => {
        const n = await psql(rootUrl(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'`);
        expect(n, 'pg_dump waiting on the lock').not.toBe('0');
      },
      { timeout: 60_000, interval: 200 },
    );
  }

  /** The backups feature's routes, typed by their own route type, as the admin. */
  const backups = () => fleet.api.routes<BackupsRoutes>('/v1').backups;
  const backupOf = (id: string) => expectStatus(backups()[':id'].$get({ param: { id } }), 200);
  type Backup = Awaited<ReturnType<typeof backupOf>>;
  const runBackup = async () => (await expectStatus(backups().$post({ json: { target: { hostId: agent.hostId } } }), 201)).backups[0]!;
  const prune = (json: { host: string; keepLast?: number; keepDaily?: number; dryRun?: boolean }) => backups().prune.$post({ json });

  async function waitBackup(id: string, done: (b: Backup) => boolean, timeoutMs = 120_000): Promise<Backup> {
    return vi.waitFor(
      async () => {
        const b = await backupOf(id);
        expect(done(b), `backup ${id} is ${b.state}: ${JSON.stringify(b)}`).toBe(true);
        return b;
      },
      { timeout: timeoutMs, interval: 250 },
    );
  }

  /** Waits until the sweeper has closed a backup's upload (and removed what storage held). */
  const uploadClosed = (id: string) =>
    vi.waitFor(async () => expect(await psql(fleet.pg.url, `SELECT upload_state FROM backups WHERE id = '${id}'`)).toBe('closed'), {
      timeout: 30_000,
      interval: 250,
    });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kf-backups-s3-'));
    [s3, kcDb] = await Promise.all([startS3Server(), startPostgres()]);
    fleet = await startFleet({
      hubEnv: {
        KEYFLEET_SECRET_KEY: hubSecretKey.toString('hex'),
        KEYFLEET_BACKUP_STORAGE: 's3',
        KEYFLEET_BACKUP_S3_ENDPOINT: s3.endpoint,
        KEYFLEET_BACKUP_S3_BUCKET: s3.bucket,
        KEYFLEET_BACKUP_SWEEP_MS: '1000',
      },
    });
    await putSecret(fleet, 'backup-s3-access-key-id', s3.accessKeyId);
    await putSecret(fleet, 'backup-s3-secret-access-key', s3.secretAccessKey);

    // Keycloak's tables that a backup reads, one realm with users and a key pair, and 24 MiB of
    // incompressible rows so the dump spans two 16 MiB parts.
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    kid = createHash('sha256').update(spki).digest('base64url');
    await psql(
      kcDb.url,
      `CREATE TABLE realm (id text PRIMARY KEY, name text);
       CREATE TABLE user_entity (id text PRIMARY KEY, realm_id text, username text);
       CREATE TABLE client (id text PRIMARY KEY, realm_id text);
       CREATE TABLE keycloak_group (id text PRIMARY KEY, realm_id text);
       CREATE TABLE component (id text PRIMARY KEY, realm_id text, provider_type text, provider_id text);
       CREATE TABLE component_config (id text PRIMARY KEY, component_id text, name text, value text);
       CREATE TABLE filler (id int PRIMARY KEY, data bytea);
       INSERT INTO realm VALUES ('r1', 'shop');
       INSERT INTO user_entity SELECT 'u' || g, 'r1', 'user' || g FROM generate_series(1, ${USERS}) g;
       INSERT INTO client VALUES ('c1', 'r1'), ('c2', 'r1');
       INSERT INTO keycloak_group VALUES ('g1', 'r1');
       INSERT INTO component VALUES ('k1', 'r1', 'org.keycloak.keys.KeyProvider', 'ecdsa-generated');
       INSERT INTO component_config VALUES ('cc1', 'k1', 'ecdsaPublicKey', '${spki.toString('base64')}');`,
    );
    await new Promise<void>((resolve, reject) => {
      const copy = spawn('psql', ['-d', kcDb.url, '-v', 'ON_ERROR_STOP=1', '-c', 'COPY filler (id, data) FROM STDIN'], {
        stdio: ['pipe', 'ignore', 'inherit'],
      });
      copy.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`COPY exited ${code}`))));
      for (let i = 0; i < 24; i++) copy.stdin!.write(`${i}\t\\\\x${randomBytes(1024 * 1024).toString('hex')}\n`);
      copy.stdin!.end('\\.\n');
    });
    agent = await fleet.addAgent({ heartbeatIntervalMs: 2_000 });
    drillHost = await fleet.addAgent({ labels: { 'keyfleet.io/drill': 'true' }, heartbeatIntervalMs: 2_000 });
    const db = new URL(kcDb.url);
    await writeStoppedKeycloakRecord(agent.stateDir, { host: db.host, database: db.pathname.slice(1), username: db.username });
    keyFile = join(work, 'key.txt');
    await run('age-keygen', ['-o', keyFile]);
    const recipient = /public key: (age1\S+)/.exec(await readFile(keyFile, 'utf8'))![1];
    await expectStatus(fleet.api.routes<BackupsRoutes>('/v1')['backup-keys'].$post({ json: { name: 'dr', recipient: recipient! } }), 201);
    await putSecret(fleet, 'backup-identity', await readFile(keyFile, 'utf8'));
  }, 5 * 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await Promise.all([kcDb?.stop(), s3?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
    console.log(`[backups-s3] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 120_000);

  it(
    'uploads in parts to presigned URLs; the hub checks the object S3 holds; the upload token reads nothing; a drill verifies it',
    async () => {
      const { id, taskId } = await runBackup();
      const b = await waitBackup(id, (x) => x.state !== 'running');
      expect(b.state, b.error ?? '').toBe('stored');
      expect(b.storage).toBe('s3');
      // `stored` comes with the upload's complete, a moment before the task's own result.
      const task = await waitForTask(fleet.api, taskId, ['succeeded', 'failed'], 60_000);
      expectSucceeded(task);
      const output = v1.taskDefinitions['backup.run'].output.parse(task.output);
      console.log(
        `[backups-s3] ${id}: ${b.sizeBytes} bytes in ${(output.durationMs / 1000).toFixed(1)}s, agent peak RSS ${Math.round((output.peakRssBytes ?? 0) / 1048576)} MiB`,
      );
      const manifest = v1.backupManifest.parse((await backupOf(id)).manifest);
      expect(manifest.realms).toEqual([{ realm: 'shop', users: USERS, clients: 2, groups: 1, kids: [kid] }]);
      // The dump spans several tar entries (and several S3 parts).
      expect(manifest.database.parts.length).toBe(Math.ceil(manifest.database.size / (4 * 1024 * 1024)));
      expect(b.sizeBytes).toBeGreaterThan(16 * 1024 * 1024);

      // The object as versitygw stores it (posix backend: <root>/<bucket>/<key>).
      const object = join(s3.dir, s3.bucket, agent.hostId, `${id}.tar.age`);
      const bytes = await readFile(object);
      expect(bytes.length).toBe(b.sizeBytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(b.sha256);
      const { stdout } = await run('bash', ['-c', `set -o pipefail; age -d -i ${keyFile} ${object} | tar -t`]);
      expect(stdout.trim().split('\n').at(-1)).toBe('manifest.json');

      expect(await psql(fleet.pg.url, `SELECT count(*) FROM secrets WHERE name = 'backup-upload.${id}'`)).toBe('0');
      firstBackup = id;

      const drill = await expectStatus(
        backups()[':id'].drill.$post({
          param: { id },
          json: { hostId: drillHost.hostId, identitySecret: 'backup-identity', scratchUrl: rootUrl(), keycloak: 'skip' },
        }),
        201,
      );
      const verified = await waitBackup(id, (x) => x.lastDrill?.taskId === drill.taskId);
      expect(verified.state, JSON.stringify(verified.lastDrill)).toBe('verified');
      expect(verified.lastDrill?.checks?.find((c) => c.name === 'signing-keys')?.ok).toBe(true);
      // This Postgres is shaped like Keycloak's but holds no Keycloak: the drill says it did not boot one.
      expect(verified.lastDrill?.checks?.find((c) => c.name === 'keycloak')?.detail).toContain('database-level drill');

      // The hub's /metrics says when each host was last backed up and last proven restorable.
      const metrics = await (await fetch(`${fleet.hub.url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name}\\{host="${agent.hostId}"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
      expect(value('keyfleet_backup_last_success_timestamp')).toBeCloseTo(Date.parse(b.finishedAt ?? '') / 1000, 0);
      expect(value('keyfleet_backup_last_verified_timestamp')).toBeCloseTo(Date.parse(verified.verifiedAt ?? '') / 1000, 0);
      expect(value('keyfleet_backup_last_size_bytes')).toBe(b.sizeBytes);
      expect(value('keyfleet_backup_last_duration_seconds')).toBeGreaterThan(0);
    },
    5 * 60_000,
  );

  it(
    'an agent killed mid-backup: the backup fails, is never listed usable, and the multipart upload is aborted',
    async () => {
      const lock = await lockFiller();
      const { id, taskId } = await runBackup();
      try {
        await pgDumpWaiting();
        // While it runs, the agent's upload token opens nothing but its own parts. The agent keeps
        // it in memory only (its journal holds the reference), so the test opens the hub's sealed copy.
        const journal = join(agent.stateDir, 'journal');
        const entry = await readFile(join(journal, (await readdir(journal)).find((f) => f.includes(taskId))!), 'utf8');
        const secretName = uploadSecretName(id);
        expect(JSON.parse(entry).params.upload.token).toEqual({ $secret: secretName });
        const sealed = await psql(fleet.pg.url, `SELECT encode(ciphertext, 'hex') FROM secrets WHERE name = '${secretName}'`);
        const uploadToken = new SecretBox(hubSecretKey).open(secretName, Buffer.from(sealed, 'hex'));
        expect(uploadToken).toMatch(/^kfb_/);
        expect(entry).not.toContain(uploadToken);
        const own = await fetch(`${fleet.hub.url}/v1/backup-uploads/${id}/parts/1`, { method: 'POST', headers: { authorization: `Bearer ${uploadToken}` } });
        expect(own.status).toBe(200);
        for (const [method, path] of [
          ['GET', `/v1/backup-downloads/${id}`],
          ['GET', `/v1/backup-downloads/${firstBackup}`],
          ['POST', `/v1/backup-uploads/${firstBackup}/parts/1`],
          ['POST', `/v1/backup-uploads/${firstBackup}/complete`],
          ['GET', '/v1/backups'],
          ['GET', `/v1/backups/${firstBackup}`],
        ] as const) {
          const res = await fetch(`${fleet.hub.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${uploadToken}`, 'content-type': 'application/json' },
            body: path.endsWith('complete') ? JSON.stringify({ size: 1, sha256: '0'.repeat(64), manifest: {} }) : undefined,
          });
          expect(res.status, `${method} ${path}`).toBe(401);
        }
        await agent.kill('SIGKILL');
      } finally {
        await lock.release();
      }
      await agent.start();
      const b = await waitBackup(id, (x) => x.state === 'failed');
      expect(b.error).toMatch(/interrupted/);
      await uploadClosed(id);
      await expect(stat(join(s3.dir, s3.bucket, agent.hostId, `${id}.tar.age`))).rejects.toThrow(/ENOENT/);
      const stored = (await expectStatus(backups().$get({ query: { host: agent.hostId, state: 'stored' } }), 200)).items.map((x) => x.id);
      expect(stored).not.toContain(id);
    },
    3 * 60_000,
  );

  it(
    'prunes by policy without blocking a running backup, never the newest verified; --dry-run changes nothing',
    async () => {
      const older = await waitBackup((await runBackup()).id, (x) => x.state !== 'running');
      expect(older.state, older.error ?? '').toBe('stored');
      // A backup held at pg_dump while retention runs: pruning takes no lock it would wait for.
      const lock = await lockFiller();
      const running = (await runBackup()).id;
      try {
        await pgDumpWaiting();
        const policy = { host: agent.hostId, keepLast: 1 };
        // keep-last 1 keeps `older` (the newest usable one); the newest verified (the first) stays too.
        expect((await expectStatus(prune({ ...policy, dryRun: true }), 200)).pruned).toEqual([]);
        expect((await prune({ ...policy, keepLast: 0, keepDaily: 0, dryRun: true })).status).toBe(400);
      } finally {
        await lock.release();
      }
      const newer = await waitBackup(running, (x) => x.state !== 'running');
      expect(newer.state, newer.error ?? '').toBe('stored');
      const dry = await expectStatus(prune({ host: agent.hostId, keepLast: 1, dryRun: true }), 200);
      expect(dry.pruned.map((p) => p.id)).toEqual([older.id]);
      expect((await backupOf(older.id)).state).toBe('stored');
      const real = await expectStatus(prune({ host: agent.hostId, keepLast: 1 }), 200);
      expect(real.pruned.map((p) => p.id)).toEqual([older.id]);
      expect((await backupOf(firstBackup)).state).toBe('verified');
      expect((await backupOf(newer.id)).state).toBe('stored');
      expect((await backupOf(older.id)).state).toBe('pruned');
      await uploadClosed(older.id);
      await expect(stat(join(s3.dir, s3.bucket, agent.hostId, `${older.id}.tar.age`))).rejects.toThrow(/ENOENT/);
      await stat(join(s3.dir, s3.bucket, agent.hostId, `${newer.id}.tar.age`));
    },
    3 * 60_000,
  );

  it(
    'the object store going down during the upload fails the backup with the reason',
    async () => {
      const lock = await lockFiller();
      const { id, taskId } = await runBackup();
      try {
        await pgDumpWaiting();
        await s3.kill();
      } finally {
        await lock.release();
      }
      const task = await waitForTask(fleet.api, taskId, ['failed', 'succeeded'], 120_000);
      expect(task.state).toBe('failed');
      expect(task.error?.message).toMatch(/part|object store|fetch failed|ECONNREFUSED/i);
      const b = await waitBackup(id, (x) => x.state === 'failed');
      expect(b.error).toBeTruthy();
      // With storage down, a new backup is refused up front with the reason.
      const refused = await expectStatus(backups().$post({ json: { target: { hostId: agent.hostId } } }), 503);
      expect(refused.error).toMatch(/backup storage is unavailable/);
    },
    3 * 60_000,
  );
});
