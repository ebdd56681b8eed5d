import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureKeycloakImage,
  ensurePostgresImage,
  KEYCLOAK_VERSION,
  startDockerd,
  startFleet,
  type AgentProcess,
  type DockerEngine,
  type Fleet,
  testPort,
} from '@keyfleet/test-harness';
import { expectFailed, expectSucceeded, keycloakAgent, login, putSecret, removeDockerInstance, runTask, type TaskParams } from './keycloak-e2e.js';
import { addBackupRecipient, catalogEntry, failedUpgradeText, OLD_VERSION, taskSeconds, timelineLines, upgradeRealm } from './keycloak-upgrade-e2e.js';

const run = promisify(execFile);
const REALM = 'kf-upgrade';
const USERS = 20;

/**
 * Keycloak version upgrades made reversible by backups (issue 11), on the docker runtime: images
 * of 26.4.7 and the current release built locally, one installation with the bundled Postgres
 * container. A failing upgrade (the new container starts and migrates the schema, then fails its
 * verification) must end on the old container, running 26.4.7 on its restored data; then the good
 * upgrade keeps users, clients and signing keys. The refusal without a backup recipient happens
 * before any runtime is touched: keycloak-upgrade.test.ts proves it once.
 */
describe('keycloak.update across versions on the docker runtime (locally built 26.4.7 and current images, bundled Postgres, real dockerd)', () => {
  const started = Date.now();
  const prefix = `kf-e2e-upgrade-${randomBytes(3).toString('hex')}`;
  let engine: DockerEngine;
  let fleet: Fleet;
  let agent: AgentProcess;
  let newImage: string;
  let baseUrl: string;
  let config: TaskParams<'keycloak.install'>;
  let realm: ReturnType<typeof upgradeRealm>;
  let work: string;
  const adminPassword = randomBytes(18).toString('base64url');
  const clientSecret = randomBytes(18).toString('base64url');
  const dbPassword = randomBytes(18).toString('base64url');
  const goodLogin = { grant: 'client_credentials', realm: REALM, clientId: 'kf-probe', clientSecret: { $secret: 'kc-probe-secret' } } as const;
  const docker = (...args: string[]) => run('docker', args, { env: { ...process.env, DOCKER_HOST: engine.dockerHost } }).then((r) => r.stdout.trim());
  const dumpsLeft = async () => (await readdir(agent.stateDir)).filter((f) => f.endsWith('.dump'));

  beforeAll(async () => {
    let oldImage: string;
    let dbImage: string;
    [engine, fleet, work] = await Promise.all([startDockerd(), startFleet(), mkdtemp(join(tmpdir(), 'kf-upgrade-docker-'))]);
    // One after the other: the build script builds one image at a time anyway.
    const t0 = Date.now();
    [oldImage, newImage, dbImage] = [
      await ensureKeycloakImage(engine.dockerHost, { version: OLD_VERSION }),
      await ensureKeycloakImage(engine.dockerHost),
      await ensurePostgresImage(engine.dockerHost),
    ];
    console.log(`[keycloak-upgrade-docker] images ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${oldImage}, ${newImage}, ${dbImage}`);
    const dbPort = testPort();
    agent = await keycloakAgent(fleet, {
      DOCKER_HOST: engine.dockerHost,
      KEYFLEET_DOCKER_NAME_PREFIX: prefix,
      KEYFLEET_KEYCLOAK_DB_IMAGE: dbImage,
      KEYFLEET_KEYCLOAK_DB_PORT: String(dbPort),
    });
    const httpPort = testPort();
    baseUrl = `http://127.0.0.1:${httpPort}`;
    await putSecret(fleet, 'kc-admin', adminPassword);
    await putSecret(fleet, 'kc-db', dbPassword);
    await putSecret(fleet, 'kc-probe-secret', clientSecret);
    await putSecret(fleet, 'kc-wrong-secret', 'not-the-secret');
    await addBackupRecipient(fleet, work);
    config = {
      version: OLD_VERSION,
      runtime: 'docker',
      image: oldImage,
      database: { kind: 'bundled', password: { $secret: 'kc-db' } },
      hostname: baseUrl,
      httpPort,
      managementPort: testPort(),
      memoryLimitMb: 1536,
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
    };
    const installed = await runTask(fleet, agent.hostId, 'keycloak.install', config, 30 * 60_000);
    expectSucceeded(installed);
    expect(installed.output.instance).toMatchObject({ runtime: 'docker', version: OLD_VERSION, ready: true });
    console.log(`[keycloak-upgrade-docker] install of ${OLD_VERSION} took ${taskSeconds(installed)}s: ${installed.output.steps.join(' | ')}`);

    realm = upgradeRealm({
      baseUrl,
      adminPassword,
      realm: REALM,
      clientSecret,
      userPassword: randomBytes(12).toString('base64url'),
      databaseUrl: `postgresql://keycloak:${encodeURIComponent(dbPassword)}@127.0.0.1:${dbPort}/keycloak`,
    });
    await realm.seed(USERS);
    // Recorded with the instance (verifyLogin is not part of the config hash): the rollback verifies with it.
    config.verifyLogin = goodLogin;
    const withLogin = await runTask(fleet, agent.hostId, 'keycloak.update', config, 5 * 60_000);
    expectSucceeded(withLogin);
    expect(withLogin.output.outcome).toBe('unchanged');
  }, 45 * 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (engine) {
      await removeDockerInstance(engine.dockerHost, prefix);
      await engine.stop();
    }
    if (work) await rm(work, { recursive: true, force: true });
    console.log(`[keycloak-upgrade-docker] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 180_000);

  it(
    `an upgrade to ${KEYCLOAK_VERSION} that fails its verification ends on the old ${OLD_VERSION} container with its data, the pre-update database restored and a real login`,
    async () => {
      const before = await realm.snapshot();
      expect(before.users).toBe(USERS);
      expect(before.kids.length).toBeGreaterThan(0);
      expect(await realm.schemaVersion()).toBe(OLD_VERSION);
      const container = await docker('inspect', '--format', '{{.Id}}', prefix);
      // Written just before the upgrade: the rollback copy is taken after the old container stopped, so it has it.
      await realm.addUser('late-writer');

      // The new container starts on the bundled database (and migrates its schema) but its login check fails.
      const bad = await runTask(fleet, agent.hostId, 'keycloak.update', {
        ...config,
        version: KEYCLOAK_VERSION,
        image: newImage,
        verifyLogin: { ...goodLogin, clientSecret: { $secret: 'kc-wrong-secret' } },
      });
      expectFailed(bad);
      const message = bad.error.message;
      console.log(`[keycloak-upgrade-docker] failed upgrade took ${taskSeconds(bad)}s: ${failedUpgradeText(message)}`);
      expect(message).toMatch(
        new RegExp(
          `^upgrade to ${KEYCLOAK_VERSION} failed: verification failed .*login: .*; rolled back to ${OLD_VERSION}, verified; pre-update database restored in [\\d.]+s; pre-update backup (bk_[a-z0-9]+); timeline: `,
        ),
      );
      // It got that far: the new container was ready on the database before its verification failed.
      expect(message).toMatch(/compatibility check \(recreate needed\)/);
      expect(message).toMatch(
        /stopped the old container .*copied the database for a rollback .*new container ready .*update failed .*removed the new container .*restored the pre-update database .*old container running again/,
      );
      const backupId = /pre-update backup (bk_[a-z0-9]+)/.exec(message)![1]!;
      expect(await catalogEntry(fleet, backupId)).toMatchObject({ id: backupId, hostId: agent.hostId, state: 'stored', keycloakVersion: OLD_VERSION });
      // Secrets stay out of the stored task, and the plaintext copy is gone from the agent.
      for (const secret of [adminPassword, clientSecret, dbPassword]) expect(JSON.stringify(bad)).not.toContain(secret);
      expect(await dumpsLeft()).toEqual([]);
      // The very container that served before runs again; the new one is gone.
      expect(await docker('inspect', '--format', '{{.Id}} {{.State.Running}} {{.Config.Image}}', prefix)).toMatch(
        new RegExp(`^${container} true keyfleet-keycloak-optimized:${OLD_VERSION.replaceAll('.', '\\.')}-`),
      );
      expect(await docker('ps', '-aq', '--filter', `name=^${prefix}-next$`)).toBe('');

      // On the old version, with the old schema and every row, logging in for real.
      const status = await runTask(fleet, agent.hostId, 'keycloak.status', {}, 60_000);
      expectSucceeded(status);
      expect(status.output.instance).toMatchObject({ runtime: 'docker', version: OLD_VERSION, ready: true });
      expect(await realm.schemaVersion()).toBe(OLD_VERSION);
      expect(await realm.snapshot()).toEqual({ ...before, users: USERS + 1 });
      expect(await login(baseUrl, REALM, 'kf-probe', clientSecret)).toBe(true);
      expect(await realm.userLogin('late-writer')).toBe(true);
      expect(await realm.userLogin('user-07')).toBe(true);
    },
    20 * 60_000,
  );

  it(
    `upgrades ${OLD_VERSION} → ${KEYCLOAK_VERSION} in a new container after a pre-update backup: users, clients and signing key ids kept, real logins, the old image kept for a way back`,
    async () => {
      const before = await realm.snapshot();
      const oldOptimized = await docker('inspect', '--format', '{{.Config.Image}}', prefix);
      const good = await runTask(fleet, agent.hostId, 'keycloak.update', { ...config, version: KEYCLOAK_VERSION, image: newImage });
      expectSucceeded(good);
      const o = good.output;
      const summary = taskDefinitions['keycloak.update'].summary(o);
      console.log(`[keycloak-upgrade-docker] upgrade took ${taskSeconds(good)}s: ${summary}\n  ${timelineLines(o.timeline)}`);
      expect(o).toMatchObject({ outcome: 'updated', fromVersion: OLD_VERSION, toVersion: KEYCLOAK_VERSION, compatibility: 'recreate', rolledBack: false });
      expect(o.instance).toMatchObject({ runtime: 'docker', version: KEYCLOAK_VERSION, ready: true });
      expect(o.verify?.ok).toBe(true);
      const backupId = o.preUpdateBackup?.backupId;
      expect(backupId).toMatch(/^bk_[a-z0-9]+$/);
      expect(summary).toMatch(
        new RegExp(`^updated ${OLD_VERSION} → ${KEYCLOAK_VERSION} \\(recreate; backup ${backupId}\\): ${KEYCLOAK_VERSION} docker, ready`),
      );
      expect(o.timeline.map((t) => t.step)).toEqual(
        expect.arrayContaining([
          'pre-update backup',
          'compatibility check',
          'strategy',
          'stopped the old container',
          'copied the database for a rollback',
          'new container ready',
          'verified the new container',
          'switched traffic to the new container',
        ]),
      );
      expect(await catalogEntry(fleet, backupId!)).toMatchObject({ state: 'stored', keycloakVersion: OLD_VERSION });
      expect(await dumpsLeft()).toEqual([]);
      // One Keycloak container under the instance's name, on the new image; the old optimized image is kept for a way back.
      expect(await docker('inspect', '--format', '{{.State.Running}} {{.Config.Image}}', prefix)).toMatch(
        new RegExp(`^true keyfleet-keycloak-optimized:${KEYCLOAK_VERSION.replaceAll('.', '\\.')}-`),
      );
      expect(await docker('image', 'inspect', '--format', '{{index .RepoTags 0}}', oldOptimized)).toBe(oldOptimized);

      expect(await realm.schemaVersion()).toBe(KEYCLOAK_VERSION);
      expect(await realm.snapshot()).toEqual(before);
      expect(await login(baseUrl, REALM, 'kf-probe', clientSecret)).toBe(true);
      expect(await realm.userLogin('user-13')).toBe(true);
      expect(await realm.userLogin('late-writer')).toBe(true);
    },
    20 * 60_000,
  );
});
