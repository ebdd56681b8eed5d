import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { expectFailed, expectSucceeded, keycloakAgent, killProcessRuntime, login, putSecret, runTask, type TaskParams } from './keycloak-e2e.js';
import { addBackupRecipient, catalogEntry, failedUpgradeText, OLD_VERSION, taskSeconds, timelineLines, upgradeRealm } from './keycloak-upgrade-e2e.js';

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

  let realm: ReturnType<typeof upgradeRealm>;
  const catalog = (id: string) => catalogEntry(fleet, id);
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

    realm = upgradeRealm({ baseUrl, adminPassword, realm: REALM, clientSecret, userPassword, databaseUrl: kcDb.url });
    await realm.seed(USERS);
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

    // The fleet's backup recipient, for the upgrades below.
    await addBackupRecipient(fleet, work);
  });

  it(
    `an upgrade to ${KEYCLOAK_VERSION} that fails its verification ends on ${OLD_VERSION} with its data, the pre-update database restored and a real login`,
    async () => {
      const before = await realm.snapshot();
      expect(before.users).toBe(USERS);
      expect(before.kids.length).toBeGreaterThan(0);
      expect(await realm.schemaVersion()).toBe(OLD_VERSION);
      // Written just before the upgrade: the rollback copy is taken after the old Keycloak stopped, so it has it.
      await realm.addUser('late-writer');

      // The new version starts on the database (and migrates its schema) but its login check fails.
      const bad = await runTask(fleet, agent.hostId, 'keycloak.update', {
        ...config,
        version: newDist.version,
        distUrl: newDist.tarball,
        verifyLogin: { ...goodLogin, clientSecret: { $secret: 'kc-wrong-secret' } },
      });
      expectFailed(bad);
      const message = bad.error.message;
      console.log(`[keycloak-upgrade] failed upgrade took ${taskSeconds(bad)}s: ${failedUpgradeText(message)}`);
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
      expect(await catalog(backupId)).toMatchObject({ id: backupId, hostId: agent.hostId, state: 'stored', keycloakVersion: OLD_VERSION });
      // Secrets stay out of the stored task, and the plaintext copy is gone from the agent.
      expect(JSON.stringify(bad)).not.toContain(adminPassword);
      expect(JSON.stringify(bad)).not.toContain(clientSecret);
      expect(await dumpsLeft()).toEqual([]);

      // On the old version, with the old schema and every row, logging in for real.
      const status = await runTask(fleet, agent.hostId, 'keycloak.status', {}, 60_000);
      expectSucceeded(status);
      expect(status.output.instance).toMatchObject({ version: OLD_VERSION, ready: true });
      expect(await realm.schemaVersion()).toBe(OLD_VERSION);
      const after = await realm.snapshot();
      expect(after).toEqual({ ...before, users: USERS + 1 });
      expect(await login(baseUrl, REALM, 'kf-probe', clientSecret)).toBe(true);
      expect(await realm.userLogin('late-writer')).toBe(true);
      expect(await realm.userLogin('user-07')).toBe(true);
    },
    15 * 60_000,
  );

  it(
    `upgrades ${OLD_VERSION} → ${KEYCLOAK_VERSION} after a pre-update backup: users, clients and signing key ids kept, real logins, reported in the result`,
    async () => {
      const before = await realm.snapshot();
      const good = await runTask(fleet, agent.hostId, 'keycloak.update', { ...config, version: newDist.version, distUrl: newDist.tarball });
      expectSucceeded(good);
      const o = good.output;
      const summary = taskDefinitions['keycloak.update'].summary(o);
      console.log(`[keycloak-upgrade] upgrade took ${taskSeconds(good)}s: ${summary}\n  ${timelineLines(o.timeline)}`);
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
      expect(await catalog(backupId!)).toMatchObject({ state: 'stored', keycloakVersion: OLD_VERSION });
      expect(await dumpsLeft()).toEqual([]);

      expect(await realm.schemaVersion()).toBe(newDist.version);
      expect(await realm.snapshot()).toEqual(before);
      expect(await login(baseUrl, REALM, 'kf-probe', clientSecret)).toBe(true);
      expect(await realm.userLogin('user-13')).toBe(true);
      expect(await realm.userLogin('late-writer')).toBe(true);
    },
    15 * 60_000,
  );
});
