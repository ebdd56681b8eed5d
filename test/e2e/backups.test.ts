import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v1 from '@keyfleet/proto/v1';
import {
  type BackupsRoutes,
  createEnrollmentToken,
  enrollAgent,
  ensureKeycloakDist,
  expectStatus,
  findJavaHome,
  repoRoot,
  startFleet,
  startPostgres,
  type AgentProcess,
  type Fleet,
  type KeycloakDist,
  type PostgresServer,
  smallTmpfs,
  waitForTask,
  testPort,
} from '@keyfleet/test-harness';
import { adminCall, expectSucceeded, keycloakAgent, killProcessRuntime, mb, putSecret, runTask } from './keycloak-e2e.js';

const run = promisify(execFile);
const USERS = 55;
/** The user that logs in on the second host after the restore. */
const LOGIN_USER = 'user7';

/**
 * Backups against a real Keycloak (process runtime) on a real Postgres, through the real hub and
 * agents: fail closed without recipients → backup → the stock tools (age, tar, pg_restore) by hand
 * → a drill on a separate drill host, which boots a scratch Keycloak on the restored copy →
 * restores, at once, onto the backed-up host and onto that second host (its own Keycloak home and
 * database) → a flipped byte fails the drill, naming the backup. The drill host doubles as the
 * second host: its installed Keycloak is the distribution drills boot, and one Keycloak fewer
 * keeps the file fast.
 */
describe('backups of a real Keycloak (local storage on the hub)', () => {
  const started = Date.now();
  let fleet: Fleet;
  let kcDb: PostgresServer;
  let agent: AgentProcess;
  let drillHost: AgentProcess;
  /** A host with only the agent, until a restore installs Keycloak there. */
  let freshHost: AgentProcess | undefined;
  let dist: KeycloakDist;
  let httpPort: number;
  /** The second host's Keycloak (on the drill host). */
  let httpPort2: number;
  let work: string;
  let backupDir: string;
  let keyFile: string;
  let identity: string;
  let recipient: string;
  let backupId: string;
  let objectPath: string;
  const adminPassword = randomBytes(18).toString('base64url');
  const userPassword = randomBytes(12).toString('base64url');
  const themeFile = 'keycloak/themes/kf-custom/login/theme.properties';
  const themeText = `parent=keycloak\n# ${randomBytes(8).toString('hex')}\n`;

  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        join(repoRoot, 'keyfleet'),
        args,
        { env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken }, timeout: 10 * 60_000 },
        (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }),
      );
    });
  const psql = async (url: string, query: string) => (await run('psql', ['-At', '-d', url, '-c', query])).stdout.trim();
  /** The backups feature's routes, typed by their own route type, as the admin. */
  const backups = () => fleet.api.routes<BackupsRoutes>('/v1');

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kf-backups-e2e-'));
    backupDir = join(work, 'store');
    [dist, fleet, kcDb] = await Promise.all([
      ensureKeycloakDist(),
      startFleet({ hubEnv: { KEYFLEET_BACKUP_DIR: backupDir, KEYFLEET_BACKUP_SWEEP_MS: '1000' } }),
      startPostgres(),
    ]);
    agent = await keycloakAgent(fleet, { JAVA_HOME: findJavaHome() });
    drillHost = await enrollAgent({
      hubUrl: fleet.hub.url,
      token: await createEnrollmentToken(fleet.api),
      labels: { 'keyfleet.io/drill': 'true' },
      heartbeatIntervalMs: 2_000,
      env: { JAVA_HOME: findJavaHome() },
    });
    fleet.agents.push(drillHost);
    await drillHost.start();
    await putSecret(fleet, 'kc-admin', adminPassword);
    await putSecret(fleet, 'kc-db', 'unused-with-trust-auth');
    await psql(kcDb.url.replace(/\/[^/]*$/, '/postgres'), 'CREATE DATABASE second_host');
    // Both Keycloaks at once: each its own host, home and database; only the first gets data.
    const install = (host: AgentProcess, dbUrl: string, port: number) => {
      const db = new URL(dbUrl);
      return runTask(fleet, host.hostId, 'keycloak.install', {
        version: dist.version,
        runtime: 'process',
        distUrl: dist.tarball,
        database: { kind: 'external', url: `jdbc:postgresql://${db.host}${db.pathname}`, username: db.username, password: { $secret: 'kc-db' } },
        hostname: `http://127.0.0.1:${port}`,
        httpPort: port,
        managementPort: testPort(),
        bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
      });
    };
    httpPort = testPort();
    httpPort2 = testPort();
    const installs = await Promise.all([install(agent, kcDb.url, httpPort), install(drillHost, kcDb.url.replace(/\/[^/]*$/, '/second_host'), httpPort2)]);
    for (const done of installs) expectSucceeded(done);
    const base = `http://127.0.0.1:${httpPort}`;
    await adminCall(base, adminPassword, 'POST', '/realms', { realm: 'kf-backup', enabled: true });
    for (let i = 0; i < USERS; i++) {
      const username = `user${i}`;
      await adminCall(base, adminPassword, 'POST', '/realms/kf-backup/users', {
        username,
        enabled: true,
        email: `${username}@example.com`,
        firstName: 'User',
        lastName: String(i),
        ...(username === LOGIN_USER ? { credentials: [{ type: 'password', value: userPassword, temporary: false }] } : {}),
      });
    }
    for (const clientId of ['web', 'api']) {
      await adminCall(base, adminPassword, 'POST', '/realms/kf-backup/clients', {
        clientId,
        publicClient: true,
        directAccessGrantsEnabled: clientId === 'web',
      });
    }
    for (const name of ['staff', 'admins']) await adminCall(base, adminPassword, 'POST', '/realms/kf-backup/groups', { name });
    // A custom theme in the Keycloak home, as an operator would drop one in.
    const record = JSON.parse(await readFile(join(agent.stateDir, 'keycloak', 'instance.json'), 'utf8')) as { process: { installDir: string } };
    await mkdir(join(record.process.installDir, 'themes', 'kf-custom', 'login'), { recursive: true });
    await writeFile(join(record.process.installDir, 'themes', 'kf-custom', 'login', 'theme.properties'), themeText);

    keyFile = join(work, 'backup-key.txt');
    await run('age-keygen', ['-o', keyFile]);
    const keyText = await readFile(keyFile, 'utf8');
    identity = /AGE-SECRET-KEY-1\S+/.exec(keyText)![0];
    recipient = /public key: (age1\S+)/.exec(keyText)![1]!;
  }, 15 * 60_000);

  afterAll(async () => {
    if (agent) await killProcessRuntime(agent.stateDir);
    if (drillHost) await killProcessRuntime(drillHost.stateDir);
    if (freshHost) await killProcessRuntime(freshHost.stateDir);
    await fleet?.stop();
    await kcDb?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    console.log(`[backups] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 120_000);

  it('refuses to back up without recipients, refuses an identity as a recipient, and takes the public key from an age-keygen file', async () => {
    const refused = await expectStatus(backups().backups.$post({ json: { target: { hostId: agent.hostId } } }), 409);
    expect(refused.error).toMatch(/no backup recipients/);

    // An identity does not fit the recipient pattern the typed client knows: only a raw request sends one.
    const secret = await fleet.api.raw('POST', '/v1/backup-keys', { body: { name: 'oops', recipient: identity } });
    expect(secret.status).toBe(400);
    expect(secret.text).not.toContain(identity.slice(20));

    const added = await cli(['backup-keys', 'add', '--name', 'dr-offline', '--from-file', keyFile]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(recipient);
    // A second key, retired: new backups are not encrypted to it (the next test checks).
    const other = /# public key: (age1\S+)/.exec((await run('age-keygen')).stdout)?.[1];
    const second = await expectStatus(backups()['backup-keys'].$post({ json: { name: 'old', recipient: other! } }), 201);
    const retired = await cli(['backup-keys', 'retire', second.id]);
    expect(retired.code, retired.stderr).toBe(0);
    const listed = await cli(['backup-keys', 'list', '-o', 'json']);
    const items = JSON.parse(listed.stdout).items;
    expect(items.map((k: { recipient: string; retiredAt: string | null }) => [k.recipient, k.retiredAt === null])).toEqual([
      [recipient, true],
      [other, false],
    ]);
    // The identity never reached the hub: not in its database, not in the audit log.
    expect(await psql(fleet.pg.url, `SELECT count(*) FROM audit_log WHERE detail::text LIKE '%AGE-SECRET-KEY%'`)).toBe('0');
  });

  it(
    'backs up Keycloak (dump, config, theme, manifest) as one age-encrypted stream; the hub stores it only after checking it',
    async () => {
      const t0 = Date.now();
      const r = await cli(['backups', 'run', '--target', agent.hostId, '--wait', '-o', 'json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const [done] = JSON.parse(r.stdout);
      expect(done.state).toBe('stored');
      backupId = done.id;
      const b = await expectStatus(backups().backups[':id'].$get({ param: { id: backupId } }), 200);
      // `stored` comes with the upload's complete, a moment before the task's own result.
      expect(b.taskId).not.toBeNull();
      const finished = await waitForTask(fleet.api, b.taskId!, ['succeeded', 'failed'], 60_000);
      expectSucceeded(finished);
      const output = v1.taskDefinitions['backup.run'].output.parse(finished.output);
      console.log(
        `[backups] backup ${backupId}: ${b.sizeBytes} bytes encrypted, dump ${output.dumpBytes} bytes, ${output.files} files, agent took ${(output.durationMs / 1000).toFixed(1)}s (CLI round trip ${((Date.now() - t0) / 1000).toFixed(1)}s), agent peak RSS ${mb(output.peakRssBytes)}`,
      );
      expect(b.recipients.map((x) => x.recipient)).toEqual([recipient]);
      expect(b.keycloakVersion).toBe(dist.version);
      const manifest = v1.backupManifest.parse(b.manifest);
      const realm = manifest.realms.find((x) => x.realm === 'kf-backup');
      expect(realm).toMatchObject({ users: USERS, groups: 2 });
      expect(realm?.clients).toBeGreaterThanOrEqual(2);
      expect(realm?.kids.length).toBeGreaterThanOrEqual(1);
      // The kids are those the live Keycloak publishes.
      const jwks = (await (await fetch(`http://127.0.0.1:${httpPort}/realms/kf-backup/protocol/openid-connect/certs`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      expect(realm?.kids).toEqual(jwks.keys.map((k) => k.kid).sort());
      expect(manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['keyfleet/keycloak-config.json', themeFile, 'keycloak/conf/keycloak.conf']));

      // What storage holds is exactly what the catalog says, and nothing partial is left.
      objectPath = join(backupDir, agent.hostId, `${backupId}.tar.age`);
      const bytes = await readFile(objectPath);
      expect(bytes.length).toBe(b.sizeBytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(b.sha256);
      expect((await readdir(join(backupDir, agent.hostId))).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
      // The config in the backup holds secret references, never their values.
      expect((await run('bash', ['-c', `age -d -i ${keyFile} ${objectPath} | tar -xO keyfleet/keycloak-config.json`])).stdout).not.toContain(adminPassword);

      // The backed-up host never held an identity: nothing in its state dir opens the backup.
      const { stdout: found } = await run('grep', ['-rl', 'AGE-SECRET-KEY', agent.stateDir]).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
      expect(found.trim()).toBe('');
      // The upload token was single use: writing again is refused.
      const again = await fetch(`${fleet.hub.url}/v1/backup-uploads/${backupId}`, { method: 'PUT', body: 'x', headers: { authorization: 'Bearer kfb_guess' } });
      expect(again.status).toBe(401);
    },
    10 * 60_000,
  );

  it(
    'restores by hand with the stock tools alone: age -d, tar, pg_restore give the same counts and files',
    async () => {
      const out = join(work, 'manual');
      await mkdir(out);
      await run('bash', ['-c', `set -o pipefail; age -d -i ${keyFile} ${objectPath} | tar -x -C ${out}`]);
      const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
      expect(await readFile(join(out, themeFile), 'utf8')).toBe(themeText);
      for (const f of manifest.files) {
        expect(
          createHash('sha256')
            .update(await readFile(join(out, f.path)))
            .digest('hex'),
          f.path,
        ).toBe(f.sha256);
      }
      await psql(kcDb.url.replace(/\/[^/]*$/, '/postgres'), 'CREATE DATABASE manual_restore');
      const target = kcDb.url.replace(/\/[^/]*$/, '/manual_restore');
      const t0 = Date.now();
      await run('bash', ['-c', `set -o pipefail; cat ${out}/database/keycloak.dump.* | pg_restore --no-owner --no-privileges --exit-on-error -d '${target}'`]);
      console.log(`[backups] manual pg_restore took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      const users = await psql(target, `SELECT count(*) FROM user_entity u JOIN realm r ON r.id = u.realm_id WHERE r.name = 'kf-backup'`);
      const groups = await psql(target, `SELECT count(*) FROM keycloak_group g JOIN realm r ON r.id = g.realm_id WHERE r.name = 'kf-backup'`);
      const realm = manifest.realms.find((x: { realm: string }) => x.realm === 'kf-backup');
      expect(Number(users)).toBe(realm.users);
      expect(Number(groups)).toBe(realm.groups);
      expect(await psql(target, 'SELECT count(*) FROM realm')).toBe(String(manifest.realms.length));
      const dump = await readdir(join(out, 'database'));
      expect(dump.length).toBe(manifest.database.parts.length);
    },
    5 * 60_000,
  );

  it(
    'a drill on the drill host verifies the backup: restored, a scratch Keycloak boots on it (with the backup’s theme) and signs tokens with the backed-up keys; it records the RTO; its realm export opens with the stock age',
    async () => {
      await putSecret(fleet, 'backup-identity', await readFile(keyFile, 'utf8'));
      const scratch = kcDb.url.replace(/\/[^/]*$/, '/postgres');
      const r = await cli([
        'backups',
        'drill',
        backupId,
        '--on',
        drillHost.hostId,
        '--identity-secret',
        'backup-identity',
        '--scratch-url',
        scratch,
        '--export',
        '--wait',
        '-o',
        'json',
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const b = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
      // Not a terminal: the dump's bytes as plain lines, towards the manifest's dump size.
      const dumpSize = v1.bytesText(v1.backupManifest.parse(b.manifest).database.size);
      expect(r.stderr).toMatch(new RegExp(`${drillHost.hostId}\\s+running .*${dumpSize.replace('.', '\\.')}.* database restored on a scratch database`));
      expect(b.state).toBe('verified');
      expect(b.lastDrill.ok).toBe(true);
      expect(b.lastDrill.checks.map((c: { name: string }) => c.name)).toEqual([
        'ciphertext',
        'decrypt',
        'files',
        'dump',
        'restore',
        'counts',
        'signing-keys',
        'keycloak',
        'token',
      ]);
      const task = await waitForTask(fleet.api, b.lastDrill.taskId, ['succeeded'], 60_000);
      const output = v1.taskDefinitions['backup.drill'].output.parse(task.output);
      const manifest = v1.backupManifest.parse(b.manifest);
      // Every realm's drill token was signed by one of its backed-up keys.
      expect(Object.keys(output.keycloak?.tokenKids ?? {}).sort()).toEqual(manifest.realms.map((r) => r.realm).sort());
      for (const realm of manifest.realms) expect(realm.kids).toContain(output.keycloak?.tokenKids[realm.realm]);
      expect(output.rtoMs).toBeGreaterThan(output.restoreMs);
      // The RTO ends at the tokens: the export made after them is not in it.
      expect(b.lastDrill.checks.find((c: { name: string }) => c.name === 'token').detail).toContain(`RTO ${((output.rtoMs ?? 0) / 1000).toFixed(1)}s`);
      // The RTO is recorded with the backup, in its last drill's checks.
      expect(b.lastDrill.checks.find((c: { name: string }) => c.name === 'token').detail).toMatch(/RTO \d+\.\ds from the download to tokens/);
      console.log(
        `[backups] drill of ${backupId}: database ${(output.restoreMs / 1000).toFixed(1)}s, RTO ${((output.rtoMs ?? 0) / 1000).toFixed(1)}s; ${b.lastDrill.checks.map((c: { name: string; detail: string }) => `${c.name}: ${c.detail}`).join('; ')}`,
      );
      // The scratch database is gone again, and so is the scratch Keycloak (its data dir with it).
      expect(await psql(scratch, `SELECT count(*) FROM pg_database WHERE datname LIKE 'kf_drill_%'`)).toBe('0');
      const drillHome = join(drillHost.stateDir, 'backups', 'drill-keycloak');
      for (const dir of await readdir(drillHome)) expect(await readdir(join(drillHome, dir))).not.toContain('data');
      // The download token was single use, and the hub forgot it (and the export's upload token).
      expect(await psql(fleet.pg.url, `SELECT count(*) FROM secrets WHERE name LIKE 'backup-download.%' OR name LIKE 'backup-upload.%'`)).toBe('0');
      // The scratch Keycloak's home had the backup's theme (the drill host's own Keycloak has none).
      const [homeDir] = await readdir(drillHome);
      expect(await readFile(join(drillHome, homeDir!, 'themes', 'kf-custom', 'login', 'theme.properties'), 'utf8')).toBe(themeText);

      // The realm export: catalogued with the backup, downloaded as ciphertext, opened with the stock age.
      expect(b.export).toMatchObject({ state: 'stored', taskId: b.lastDrill.taskId });
      expect([...b.export.realms].sort()).toEqual(['kf-backup', 'master']);
      expect(output.export).toMatchObject({ exportId: b.export.id, ok: true });
      const file = join(work, 'realms.tar.age');
      const got = await cli(['backups', 'export', backupId, '-f', file]);
      expect(got.code, got.stdout + got.stderr).toBe(0);
      expect(
        createHash('sha256')
          .update(await readFile(file))
          .digest('hex'),
      ).toBe(b.export.sha256);
      const out = await mkdtemp(join(work, 'realms-'));
      await run('bash', ['-c', `set -o pipefail; age -d -i ${keyFile} ${file} | tar -x -C ${out}`]);
      const realm = JSON.parse(await readFile(join(out, 'realms', 'kf-backup-realm.json'), 'utf8')) as { realm: string; clients: Array<{ clientId: string }> };
      expect(realm.realm).toBe('kf-backup');
      expect(realm.clients.map((c) => c.clientId)).toEqual(expect.arrayContaining(['web', 'api']));
      // The drill's own clients were removed before the export: it is the backup's content.
      expect(realm.clients.map((c) => c.clientId).filter((id) => id.startsWith('kf-drill-'))).toEqual([]);
      const userFiles = (await readdir(join(out, 'realms'))).filter((n) => n.startsWith('kf-backup-users-'));
      const users = (
        await Promise.all(
          userFiles.map(async (n) => (JSON.parse(await readFile(join(out, 'realms', n), 'utf8')) as { users: Array<{ username: string }> }).users),
        )
      ).flat();
      expect(users.map((u) => u.username).sort()).toEqual(Array.from({ length: USERS }, (_, i) => `user${i}`).sort());
      // Only the admin may download it, and the download is in the audit trail.
      expect(await psql(fleet.pg.url, `SELECT count(*) FROM audit_log WHERE action = 'backups.export' AND target = '${backupId}' AND outcome = 'ok'`)).toBe(
        '1',
      );
    },
    10 * 60_000,
  );

  it(
    'restores at once onto the host (later changes gone) and onto a second host with its own Keycloak home: both verified, the same user logs in, the JWKS kids are the source’s',
    async () => {
      const base = `http://127.0.0.1:${httpPort}`;
      const second = `http://127.0.0.1:${httpPort2}`;
      const kids = async (at: string) =>
        ((await (await fetch(`${at}/realms/kf-backup/protocol/openid-connect/certs`)).json()) as { keys: Array<{ kid: string }> }).keys
          .map((k) => k.kid)
          .sort();
      const login = (at: string) =>
        fetch(`${at}/realms/kf-backup/protocol/openid-connect/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'password', client_id: 'web', username: LOGIN_USER, password: userPassword, scope: 'openid' }),
        });
      const kidsBefore = await kids(base);
      expect((await login(base)).status).toBe(200);
      // Changes after the backup, which the restore onto the host takes back.
      await adminCall(base, adminPassword, 'POST', '/realms/kf-backup/users', { username: 'after-backup', enabled: true });
      const [user0] = await adminCall<Array<{ id: string }>>(base, adminPassword, 'GET', '/realms/kf-backup/users?username=user0&exact=true');
      await adminCall(base, adminPassword, 'DELETE', `/realms/kf-backup/users/${user0!.id}`);
      const home = async (host: AgentProcess) =>
        (JSON.parse(await readFile(join(host.stateDir, 'keycloak', 'instance.json'), 'utf8')) as { process: { installDir: string } }).process.installDir;
      const theme = join(await home(agent), 'themes', 'kf-custom', 'login', 'theme.properties');
      await writeFile(theme, 'parent=base\n');
      expect(await adminCall(base, adminPassword, 'GET', '/realms/kf-backup/users/count')).toBe(USERS);
      // The second host has a Keycloak of its own, without the backed-up realm.
      expect((await fetch(`${second}/realms/kf-backup`)).status).toBe(404);

      // Both at once: independent hosts, and the hub decrypts for two restores side by side: one
      // with the identity the hub keeps, one with an identity given for this call only.
      const restore = async (host: AgentProcess) => {
        const identity = host === agent ? ['--identity-secret', 'backup-identity'] : ['--identity-file', keyFile];
        const r = await cli(['backups', 'restore', backupId, '--target', host.hostId, ...identity, '--wait', '-o', 'json']);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const task = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
        expect(task.state).toBe('succeeded');
        expect(task.output.verify.ok).toBe(true);
        console.log(`[backups] restore of ${backupId} onto ${host === agent ? 'the host' : 'a second host'}: ${task.summary}`);
      };
      await Promise.all([restore(agent), restore(drillHost)]);
      // The per-call identity left nothing behind: its file key went with the fetch.
      const secretNames = (await (await fetch(`${fleet.hub.url}/v1/secrets`, { headers: { authorization: `Bearer ${fleet.hub.adminToken}` } })).json()) as {
        items: Array<{ name: string }>;
      };
      expect(secretNames.items.map((s) => s.name).filter((n) => n.endsWith('.filekey'))).toEqual([]);

      expect(await adminCall(base, adminPassword, 'GET', '/realms/kf-backup/users/count')).toBe(USERS);
      expect(await adminCall(base, adminPassword, 'GET', '/realms/kf-backup/users?username=after-backup&exact=true')).toEqual([]);
      expect(await adminCall(base, adminPassword, 'GET', '/realms/kf-backup/users?username=user0&exact=true')).toHaveLength(1);
      expect(await kids(base)).toEqual(kidsBefore);
      expect(await readFile(theme, 'utf8')).toBe(themeText);

      expect(await kids(second)).toEqual(kidsBefore);
      const res = await login(second);
      const body = (await res.json()) as { access_token?: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      const header = JSON.parse(Buffer.from(body.access_token!.split('.')[0]!, 'base64url').toString()) as { kid: string };
      expect(kidsBefore).toContain(header.kid);
      expect(await adminCall(second, adminPassword, 'GET', '/realms/kf-backup/users/count')).toBe(USERS);
      expect(await readFile(join(await home(drillHost), 'themes', 'kf-custom', 'login', 'theme.properties'), 'utf8')).toBe(themeText);

      // The hub decrypted: neither restored host holds an identity. The second host also ran the
      // drill, for which it was given one: nothing in its state dir (journal, task results, drill
      // home) keeps it either.
      for (const host of [agent, drillHost]) {
        const { stdout: found } = await run('grep', ['-rl', 'AGE-SECRET-KEY', host.stateDir]).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
        expect(found.trim(), host.stateDir).toBe('');
      }
    },
    10 * 60_000,
  );

  it(
    'restores onto a fresh host with only the agent in one command: the backup into its database, Keycloak of the backup’s version installed on it and verified with the source’s admin; a source user logs in, tokens carry the source’s issuer and kids',
    async () => {
      const t0 = Date.now();
      freshHost = await enrollAgent({
        hubUrl: fleet.hub.url,
        token: await createEnrollmentToken(fleet.api),
        heartbeatIntervalMs: 2_000,
        env: { JAVA_HOME: findJavaHome() },
      });
      fleet.agents.push(freshHost);
      await freshHost.start();
      await psql(kcDb.url.replace(/\/[^/]*$/, '/postgres'), 'CREATE DATABASE fresh_host');
      const db = new URL(kcDb.url.replace(/\/[^/]*$/, '/fresh_host'));
      const port = testPort();
      // Only what differs on this machine: its own database and ports. Hostname, dist, bootstrap admin: the source's.
      const installConfig = join(work, 'fresh-host-install.json');
      await writeFile(
        installConfig,
        JSON.stringify({
          httpPort: port,
          managementPort: testPort(),
          database: { kind: 'external', url: `jdbc:postgresql://${db.host}${db.pathname}`, username: db.username, password: { $secret: 'kc-db' } },
        }),
      );
      const r = await cli([
        'backups',
        'restore',
        backupId,
        '--target',
        freshHost.hostId,
        '--identity-secret',
        'backup-identity',
        '--install-config',
        installConfig,
        '--wait',
        '-o',
        'json',
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const task = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
      expect(task.state).toBe('succeeded');
      expect(task.output).toMatchObject({ installed: true, instance: { version: dist.version, ready: true }, verify: { ok: true } });
      // The operator followed it: the restore into the external database, then the install's steps on it.
      expect(r.stderr).toMatch(/no Keycloak on this host: restoring backup .* then installing Keycloak/);
      expect(r.stderr).toMatch(/database restored; installing Keycloak/);
      expect(r.stderr).toMatch(/install: .*started Keycloak/);
      console.log(`[backups] restore of ${backupId} onto a fresh host (install + restore) took ${((Date.now() - t0) / 1000).toFixed(1)}s: ${task.summary}`);

      const fresh = `http://127.0.0.1:${port}`;
      const certs = (await (await fetch(`${fresh}/realms/kf-backup/protocol/openid-connect/certs`)).json()) as { keys: Array<{ kid: string }> };
      const manifest = v1.backupManifest.parse((await expectStatus(backups().backups[':id'].$get({ param: { id: backupId } }), 200)).manifest);
      const sourceKids = manifest.realms.find((x) => x.realm === 'kf-backup')!.kids;
      expect(certs.keys.map((k) => k.kid).sort()).toEqual(sourceKids);
      const res = await fetch(`${fresh}/realms/kf-backup/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: 'web', username: LOGIN_USER, password: userPassword, scope: 'openid' }),
      });
      const body = (await res.json()) as { access_token?: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      const [header, claims] = body
        .access_token!.split('.')
        .slice(0, 2)
        .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString())) as [{ kid: string }, { iss: string }];
      expect(sourceKids).toContain(header.kid);
      expect(claims.iss).toBe(`http://127.0.0.1:${httpPort}/realms/kf-backup`);
      // The restored master realm's admin is the source's: its password logs in to the admin API.
      expect(await adminCall(fresh, adminPassword, 'GET', '/realms/kf-backup/users/count')).toBe(USERS);
      // The hub now knows the host's Keycloak, from the restore's result.
      const host = (await fleet.api.raw('GET', `/v1/hosts/${freshHost.hostId}/keycloak`)).json as { keycloak: unknown; lastVerification: unknown };
      expect(host).toMatchObject({ keycloak: { installed: true, version: dist.version }, lastVerification: { ok: true, taskId: task.id } });
      const { stdout: found } = await run('grep', ['-rl', 'AGE-SECRET-KEY', freshHost.stateDir]).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
      expect(found.trim()).toBe('');
    },
    15 * 60_000,
  );

  it(
    'one flipped byte in the stored backup fails the drill loudly, naming the backup',
    async () => {
      const size = (await stat(objectPath)).size;
      const fh = await open(objectPath, 'r+');
      const at = Math.floor(size / 2);
      const one = Buffer.alloc(1);
      await fh.read(one, 0, 1, at);
      one[0] = one[0]! ^ 0x01;
      await fh.write(one, 0, 1, at);
      await fh.close();
      const scratch = kcDb.url.replace(/\/[^/]*$/, '/postgres');
      const r = await cli([
        'backups',
        'drill',
        backupId,
        '--on',
        drillHost.hostId,
        '--identity-secret',
        'backup-identity',
        '--scratch-url',
        scratch,
        '--wait',
        '-o',
        'json',
      ]);
      expect(r.code).toBe(1);
      const b = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
      expect(b.state).toBe('failed');
      expect(b.lastDrill.ok).toBe(false);
      expect(b.error).toContain(`backup ${backupId} FAILED its drill`);
      expect(b.error).toMatch(/ciphertext: sha256 .* the catalog has/);
      expect(await psql(scratch, `SELECT count(*) FROM pg_database WHERE datname LIKE 'kf_drill_%'`)).toBe('0');
      const listed = await cli(['backups', 'list', '--host', agent.hostId]);
      expect(listed.stdout).toMatch(new RegExp(`${backupId}.*failed`));
    },
    5 * 60_000,
  );

  it(
    'storage that is full: the backup fails with the reason, nothing partial is kept, and a backup after the space returns is stored',
    async () => {
      // A real 64 KiB file system over this host's backup directory for the length of the test
      // (the objects under it are hidden, not touched): the ~270 KB backup cannot fit.
      const hostDir = join(backupDir, agent.hostId);
      await mkdir(hostDir, { recursive: true });
      const before = await readdir(hostDir);
      const full = await smallTmpfs(64 * 1024, hostDir);
      try {
        const r = await cli(['backups', 'run', '--target', agent.hostId, '--wait', '-o', 'json']);
        expect(r.code, r.stdout + r.stderr).toBe(1);
        const [failed] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
        expect(failed.state).toBe('failed');
        expect(failed.error).toContain(`backup storage ${backupDir} is full (ENOSPC)`);
        expect(await readdir(full.dir)).toEqual([]);
      } finally {
        await full.close();
      }
      // The hidden objects are back, and the next backup is stored.
      expect(await readdir(hostDir)).toEqual(before);
      const again = await cli(['backups', 'run', '--target', agent.hostId, '--wait', '-o', 'json']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)[0].state).toBe('stored');
    },
    5 * 60_000,
  );
});
