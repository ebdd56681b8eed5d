import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureKeycloakDist,
  findJavaHome,
  KEYCLOAK_VERSION,
  startFleet,
  startPostgres,
  type AgentProcess,
  type Fleet,
  type KeycloakDist,
  type PostgresServer,
  testPort,
} from '@keyfleet/test-harness';
import {
  adminCall,
  createLoginClient,
  expectFailed,
  expectSucceeded,
  keycloakAgent,
  killProcessRuntime,
  login,
  putSecret,
  runTask,
  type TaskParams,
} from './keycloak-e2e.js';

const run = promisify(execFile);

/** The older release upgraded from: the oldest 26.x Maven Central serves here whose DB schema the current one migrates. */
const OLD_VERSION = '26.4.7';
const REALM = 'kf-upgrade';
const USERS = 20;

/**
 * Keycloak version upgrades made reversible by backups (issue 11), on the process runtime: one
 * Keycloak 26.4.7 on a real Postgres for every case. Refused while the fleet has no backup
 * recipient; then a failing upgrade to the current release (the new version starts and migrates
 * the schema, then fails its verification) that must end on 26.4.7 with its data; then the good
 * upgrade of the same install, which keeps users, clients and signing keys. Both take their
 * pre-update backup unit into the hub's catalog.
 */
describe('keycloak.update across versions (real Keycloak 26.4.7 → current, real Postgres, hub and agent)', () => {
  const started = Date.now();
  let fleet: Fleet;
  let kcDb: PostgresServer;
  let agent: AgentProcess;
  let oldDist: KeycloakDist;
  let newDist: KeycloakDist;
  let baseUrl: string;
  let config: TaskParams<'keycloak.install'>;
  let work: string;
  const adminPassword = randomBytes(18).toString('base64url');
  const clientSecret = randomBytes(18).toString('base64url');
  const userPassword = randomBytes(12).toString('base64url');
  const goodLogin = { grant: 'client_credentials', realm: REALM, clientId: 'kf-probe', clientSecret: { $secret: 'kc-probe-secret' } } as const;

  /** Users, clients and signing key ids of the realm, and the newest schema version Keycloak recorded. */
  const snapshot = async () => {
    const users = await adminCall<number>(baseUrl, adminPassword, 'GET', `/realms/${REALM}/users/count`);
    const clients = (await adminCall<Array<{ clientId: string }>>(baseUrl, adminPassword, 'GET', `/realms/${REALM}/clients`)).map((c) => c.clientId).sort();
    const jwks = (await (await fetch(`${baseUrl}/realms/${REALM}/protocol/openid-connect/certs`)).json()) as { keys: Array<{ kid: string }> };
    return { users, clients, kids: jwks.keys.map((k) => k.kid).sort() };
  };
  const schemaVersion = async () =>
    (await run('psql', [kcDb.url, '-Atc', 'SELECT version FROM migration_model ORDER BY update_time DESC, version DESC LIMIT 1'])).stdout.trim();
  /** A real user login: the password grant of a public client. */
  const userLogin = async (username: string) => {
    const res = await fetch(`${baseUrl}/realms/${REALM}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'kf-app', username, password: userPassword }),
      signal: AbortSignal.timeout(10_000),
    });
    return res.status === 200 && Boolean(((await res.json()) as { access_token?: string }).access_token);
  };
  const addUser = (username: string) =>
    adminCall(baseUrl, adminPassword, 'POST', `/realms/${REALM}/users`, {
      username,
      enabled: true,
      email: `${username}@example.test`,
      firstName: 'Up',
      lastName: 'Grade',
      emailVerified: true,
      credentials: [{ type: 'password', value: userPassword, temporary: false }],
    });
  const catalogEntry = async (id: string) => {
    const res = await fleet.api.raw('GET', `/v1/backups/${id}`);
    expect(res.status, res.text).toBe(200);
    return res.json as { id: string; state: string; keycloakVersion: string | null; hostId: string };
  };
  const dumpsLeft = async () => (await readdir(agent.stateDir)).filter((f) => f.endsWith('.dump'));

  beforeAll(async () => {
    [oldDist, newDist, fleet, kcDb] = await Promise.all([ensureKeycloakDist(OLD_VERSION), ensureKeycloakDist(KEYCLOAK_VERSION), startFleet(), startPostgres()]);
    agent = await keycloakAgent(fleet, { JAVA_HOME: findJavaHome() });
    work = await mkdtemp(join(tmpdir(), 'kf-upgrade-'));
    const httpPort = testPort();
    baseUrl = `http://127.0.0.1:${httpPort}`;
    await putSecret(fleet, 'kc-admin', adminPassword);
    await putSecret(fleet, 'kc-probe-secret', clientSecret);
    await putSecret(fleet, 'kc-wrong-secret', 'not-the-secret');
    // The test cluster trusts local connections: any password will do.
    await putSecret(fleet, 'kc-db', 'unused-with-trust-auth');
    const db = new URL(kcDb.url);
    config = {
      version: OLD_VERSION,
      runtime: 'process',
      distUrl: oldDist.tarball,
      database: { kind: 'external', url: `jdbc:postgresql://${db.host}${db.pathname}`, username: db.username, password: { $secret: 'kc-db' } },
      hostname: baseUrl,
      httpPort,
      managementPort: testPort(),
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
    };
    const installed = await runTask(fleet, agent.hostId, 'keycloak.install', config, 15 * 60_000);
    expectSucceeded(installed);
    expect(installed.output.instance.version).toBe(OLD_VERSION);

    await createLoginClient(baseUrl, adminPassword, REALM, 'kf-probe', clientSecret);
    await adminCall(baseUrl, adminPassword, 'POST', `/realms/${REALM}/clients`, { clientId: 'kf-app', publicClient: true, directAccessGrantsEnabled: true });
    for (let i = 0; i < USERS; i++) await addUser(`user-${String(i).padStart(2, '0')}`);
    // Recorded with the instance (verifyLogin is not part of the config hash): the rollback verifies with it.
    config.verifyLogin = goodLogin;
    const withLogin = await runTask(fleet, agent.hostId, 'keycloak.update', config, 5 * 60_000);
    expectSucceeded(withLogin);
    expect(withLogin.output.outcome).toBe('unchanged');
  }, 20 * 60_000);

  afterAll(async () => {
    if (agent) await killProcessRuntime(agent.stateDir);
    await fleet?.stop();
    await kcDb?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    console.log(`[keycloak-upgrade] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 120_000);

  it('refuses an upgrade while the fleet has no backup recipient, before it touches anything', async () => {
    const pidFile = join(agent.stateDir, 'keycloak', 'keycloak-a.pid');
    const pidBefore = JSON.parse(await readFile(pidFile, 'utf8')).pid as number;
    const refused = await runTask(fleet, agent.hostId, 'keycloak.update', { ...config, version: newDist.version, distUrl: newDist.tarball }, 120_000);
    expectFailed(refused);
    expect(refused.error.message).toMatch(
      new RegExp(`^upgrade to ${newDist.version} failed: the pre-update backup could not start: HTTP 409: no backup recipients: .*; timeline: `),
    );
    expect(refused.error.message).not.toMatch(/compatibility check|stopped the old instance/);
    // The same Keycloak process still serves, with its login.
    expect(JSON.parse(await readFile(pidFile, 'utf8')).pid).toBe(pidBefore);
    expect(await login(baseUrl, REALM, 'kf-probe', clientSecret)).toBe(true);

    // The fleet's backup recipient, for the upgrades below; its identity stays here, as an operator's would offline.
    const keyFile = join(work, 'backup-key.txt');
    await run('age-keygen', ['-o', keyFile]);
    const recipient = /public key: (age1\S+)/.exec(await readFile(keyFile, 'utf8'))![1]!;
    const key = await fleet.api.raw('POST', '/v1/backup-keys', { body: { name: 'upgrade-e2e', recipient } });
    expect(key.status, key.text).toBe(201);
  });

  it(
    `an upgrade to ${KEYCLOAK_VERSION} that fails its verification ends on ${OLD_VERSION} with its data, the pre-update database restored and a real login`,
    async () => {
      const before = await snapshot();
      expect(before.users).toBe(USERS);
      expect(before.kids.length).toBeGreaterThan(0);
      expect(await schemaVersion()).toBe(OLD_VERSION);
      // Written just before the upgrade: the rollback copy is taken after the old Keycloak stopped, so it has it.
      await addUser('late-writer');

      // The new version starts on the database (and migrates its schema) but its login check fails.
      const bad = await runTask(fleet, agent.hostId, 'keycloak.update', {
        ...config,
        version: newDist.version,
        distUrl: newDist.tarball,
        verifyLogin: { ...goodLogin, clientSecret: { $secret: 'kc-wrong-secret' } },
      });
      expectFailed(bad);
      const message = bad.error.message;
      const [headline, timeline = ''] = message.split('; timeline: ');
      console.log(
        `[keycloak-upgrade] failed upgrade took ${((Date.parse(bad.finishedAt!) - Date.parse(bad.startedAt!)) / 1000).toFixed(1)}s: ${headline}\n  ${timeline.split('\n')[0]!.split(' | ').join('\n  ')}`,
      );
      expect(message).toMatch(
        new RegExp(
          `^upgrade to ${newDist.version} failed: verification failed .*login: .*; rolled back to ${OLD_VERSION}, verified; pre-update database restored in [\\d.]+s; pre-update backup (bk_[a-z0-9]+); timeline: `,
        ),
      );
      // It got that far: the new version was ready on the database before its verification failed.
      expect(message).toMatch(/compatibility check \(recreate needed\)/);
      expect(message).toMatch(
        /copied the database for a rollback .*new instance ready .*update failed .*stopped the new instance .*restored the pre-update database .*rolled back: old instance ready/,
      );
      const backupId = /pre-update backup (bk_[a-z0-9]+)/.exec(message)![1]!;
      expect(await catalogEntry(backupId)).toMatchObject({ id: backupId, hostId: agent.hostId, state: 'stored', keycloakVersion: OLD_VERSION });
      // Secrets stay out of the stored task, and the plaintext copy is gone from the agent.
      expect(JSON.stringify(bad)).not.toContain(adminPassword);
      expect(JSON.stringify(bad)).not.toContain(clientSecret);
      expect(await dumpsLeft()).toEqual([]);

      // On the old version, with the old schema and every row, logging in for real.
      const status = await runTask(fleet, agent.hostId, 'keycloak.status', {}, 60_000);
      expectSucceeded(status);
      expect(status.output.instance).toMatchObject({ version: OLD_VERSION, ready: true });
      expect(await schemaVersion()).toBe(OLD_VERSION);
      const after = await snapshot();
      expect(after).toEqual({ ...before, users: USERS + 1 });
      expect(await login(baseUrl, REALM, 'kf-probe', clientSecret)).toBe(true);
      expect(await userLogin('late-writer')).toBe(true);
      expect(await userLogin('user-07')).toBe(true);
    },
    15 * 60_000,
  );

  it(
    `upgrades ${OLD_VERSION} → ${KEYCLOAK_VERSION} after a pre-update backup: users, clients and signing key ids kept, real logins, reported in the result`,
    async () => {
      const before = await snapshot();
      const good = await runTask(fleet, agent.hostId, 'keycloak.update', { ...config, version: newDist.version, distUrl: newDist.tarball });
      expectSucceeded(good);
      const o = good.output;
      const tookS = (Date.parse(good.finishedAt!) - Date.parse(good.startedAt!)) / 1000;
      const summary = taskDefinitions['keycloak.update'].summary(o);
      console.log(
        `[keycloak-upgrade] upgrade took ${tookS.toFixed(1)}s: ${summary}\n  ${o.timeline.map((t) => `${t.at.slice(11, 19)} ${t.step}${t.detail ? ` (${t.detail.split('\n')[0]})` : ''}`).join('\n  ')}`,
      );
      expect(o).toMatchObject({ outcome: 'updated', fromVersion: OLD_VERSION, toVersion: newDist.version, compatibility: 'recreate', rolledBack: false });
      expect(o.instance).toMatchObject({ version: newDist.version, ready: true });
      expect(o.verify?.ok).toBe(true);
      const backupId = o.preUpdateBackup?.backupId;
      expect(backupId).toMatch(/^bk_[a-z0-9]+$/);
      expect(summary).toMatch(new RegExp(`^updated ${OLD_VERSION} → ${newDist.version} \\(recreate; backup ${backupId}\\): ${newDist.version} process, ready`));
      expect(o.timeline.map((t) => t.step)).toEqual(
        expect.arrayContaining([
          'pre-update backup',
          'compatibility check',
          'strategy',
          'stopped the old instance',
          'copied the database for a rollback',
          'new instance ready',
        ]),
      );
      expect(await catalogEntry(backupId!)).toMatchObject({ state: 'stored', keycloakVersion: OLD_VERSION });
      expect(await dumpsLeft()).toEqual([]);

      expect(await schemaVersion()).toBe(newDist.version);
      expect(await snapshot()).toEqual(before);
      expect(await login(baseUrl, REALM, 'kf-probe', clientSecret)).toBe(true);
      expect(await userLogin('user-13')).toBe(true);
      expect(await userLogin('late-writer')).toBe(true);
    },
    15 * 60_000,
  );
});
