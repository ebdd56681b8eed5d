import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ensureKeycloakDist,
  findJavaHome,
  repoRoot,
  startFleet,
  startPostgres,
  type AgentProcess,
  type Fleet,
  type KeycloakDist,
  type PostgresServer,
  testPort,
} from '@keyfleet/test-harness';
import {
  adminToken,
  createLoginClient,
  expectFailed,
  expectSucceeded,
  keycloakAgent,
  killProcessRuntime,
  login,
  mb,
  processRuntimeRss,
  putSecret,
  runTask,
  startProbe,
  type TaskParams,
} from './keycloak-e2e.js';

describe('keycloak process runtime through the hub (real Keycloak, real hub and agent)', () => {
  const started = Date.now();
  let fleet: Fleet;
  /** Keycloak's own database: a real Postgres, so an update can run the new Keycloak beside the old one. */
  let kcDb: PostgresServer;
  let agent: AgentProcess;
  let dist: KeycloakDist;
  let httpPort: number;
  let managementPort: number;
  let install: TaskParams<'keycloak.install'>;
  const adminPassword = randomBytes(18).toString('base64url');
  const clientSecret = randomBytes(18).toString('base64url');
  const goodLogin = { grant: 'client_credentials', realm: 'kf-e2e', clientId: 'kf-probe', clientSecret: { $secret: 'kc-probe-secret' } } as const;

  beforeAll(async () => {
    [dist, fleet, kcDb] = await Promise.all([ensureKeycloakDist(), startFleet(), startPostgres()]);
    // The state dir as the demo gives it, relative: kc.sh and the JVM run from other directories.
    // Events pulled every second, so the audit trail test waits on Keycloak, not on the interval.
    agent = await keycloakAgent(fleet, { JAVA_HOME: findJavaHome(), KEYFLEET_EVENTS_INTERVAL_MS: '1000' }, { relativeStateDir: true });
    [httpPort, managementPort] = [testPort(), testPort()];
    await putSecret(fleet, 'kc-admin', adminPassword);
    await putSecret(fleet, 'kc-probe-secret', clientSecret);
    await putSecret(fleet, 'kc-wrong-secret', 'not-the-secret');
    // The test cluster trusts local connections: any password will do.
    await putSecret(fleet, 'kc-db', 'unused-with-trust-auth');
    const db = new URL(kcDb.url);
    install = {
      version: dist.version,
      runtime: 'process',
      distUrl: dist.tarball,
      database: { kind: 'external', url: `jdbc:postgresql://${db.host}${db.pathname}`, username: db.username, password: { $secret: 'kc-db' } },
      hostname: `http://127.0.0.1:${httpPort}`,
      httpPort,
      managementPort,
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
    };
  }, 15 * 60_000);

  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        join(repoRoot, 'keyfleet'),
        args,
        { env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken }, timeout: 5 * 60_000 },
        (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }),
      );
    });

  afterAll(async () => {
    if (agent) await killProcessRuntime(agent.stateDir);
    await fleet?.stop();
    await kcDb?.stop();
    console.log(`[keycloak-process] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 120_000);

  it(
    'installs from the dist tarball (agent given a relative state dir), verifies, logs in for real, reports status; a second install changes nothing',
    async () => {
      const first = await runTask(fleet, agent.hostId, 'keycloak.install', install);
      expectSucceeded(first);
      expect(first.output.changed).toBe(true);
      expect(first.output.instance).toMatchObject({ runtime: 'process', version: dist.version, ready: true, baseUrl: `http://127.0.0.1:${httpPort}` });
      expect(first.output.steps.join('\n')).toMatch(/kc\.sh build --db=postgres --health-enabled=true --metrics-enabled=true/);
      expect(first.output.verify.ok).toBe(true);
      expect(first.output.verify.checks.map((c) => c.name)).toEqual(['health', 'discovery', 'jwks', 'tls', 'admin-api', 'login']);
      expect(first.output.verify?.checks.find((c) => c.name === 'login')?.detail).toBe('no login configured');
      // The admin password went to the agent only: not into the stored task.
      expect(JSON.stringify(first)).not.toContain(adminPassword);
      // Run from a relative state dir, the dist is recorded (and was started) by its absolute path.
      const record = JSON.parse(await readFile(join(agent.stateDir, 'keycloak', 'instance.json'), 'utf8')) as { process: { installDir: string } };
      expect(record.process.installDir).toBe(join(agent.stateDir, 'keycloak', record.process.installDir.split('/').at(-1)!));
      const rss = await processRuntimeRss(agent.stateDir);
      console.log(
        `[keycloak-process] install took ${((Date.parse(first.finishedAt) - Date.parse(first.startedAt)) / 1000).toFixed(1)}s; ${first.output.steps.filter((s) => /ready in/.test(s)).join('; ')}; JVM RSS ${mb(rss)}`,
      );

      await createLoginClient(`http://127.0.0.1:${httpPort}`, adminPassword, 'kf-e2e', 'kf-probe', clientSecret);
      const verified = await runTask(fleet, agent.hostId, 'keycloak.verify', { login: goodLogin }, 120_000);
      expectSucceeded(verified);
      const loginCheck = verified.output.checks.find((c) => c.name === 'login');
      expect(loginCheck).toMatchObject({ ok: true });
      expect(loginCheck?.detail).toMatch(/client_credentials grant for client kf-probe in realm kf-e2e: access token issued/);
      expect(verified.output.checks.find((c) => c.name === 'discovery')?.detail).toBe(`issuer http://127.0.0.1:${httpPort}/realms/kf-e2e`);
      expect(verified.output.checks.find((c) => c.name === 'tls')?.detail).toBe('TLS not enabled');

      const status = await runTask(fleet, agent.hostId, 'keycloak.status', {}, 60_000);
      expectSucceeded(status);
      expect(status.output.installed).toBe(true);
      expect(status.output.instance).toMatchObject({ runtime: 'process', version: dist.version, ready: true });
      expect(status.output.instance?.realms).toEqual(expect.arrayContaining(['master', 'kf-e2e']));
      expect(status.output.instance?.uptimeSec).toBeGreaterThanOrEqual(0);

      const again = await runTask(fleet, agent.hostId, 'keycloak.install', install);
      expectSucceeded(again);
      expect(again.output.changed).toBe(false);
      expect(again.output.steps[0]).toMatch(/configuration unchanged .*running and ready/);
      expect(again.output.verify.ok).toBe(true);
    },
    20 * 60_000,
  );

  it(
    'verify fails with the reason when the client secret is wrong',
    async () => {
      const wrong = await runTask(fleet, agent.hostId, 'keycloak.verify', { login: { ...goodLogin, clientSecret: { $secret: 'kc-wrong-secret' } } }, 120_000);
      expectFailed(wrong);
      expect(wrong.error.code).toBe('handler_error');
      expect(wrong.error.message).toMatch(/login: (invalid_client|unauthorized_client)[^;]*Invalid client/);
      expect(wrong.error.message).toMatch(/Passed: health, discovery, jwks, tls, admin-api/);
      expect(wrong.error.message).not.toContain('not-the-secret');
    },
    5 * 60_000,
  );

  it(
    'audit trail: a failed login and a user created straight in Keycloak show in `keyfleet audit` with host and realm',
    async () => {
      const base = `http://127.0.0.1:${httpPort}`;
      const admin = async (path: string, init: RequestInit = {}) => {
        const token = await adminToken(base, adminPassword);
        return fetch(`${base}/admin/realms/${path}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        });
      };
      // The agent turns on login and admin events in the realms it finds (kf-e2e was created outside Keyfleet).
      await vi.waitFor(
        async () => {
          const config = (await (await admin('kf-e2e/events/config')).json()) as { eventsEnabled?: boolean; adminEventsEnabled?: boolean };
          expect(config).toMatchObject({ eventsEnabled: true, adminEventsEnabled: true });
        },
        { timeout: 60_000, interval: 500 },
      );
      const failed = await fetch(`${base}/realms/kf-e2e/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'mallory', password: 'guess-1234' }),
      });
      // invalid_grant: Keycloak answers 400 or 401 depending on its version.
      expect([400, 401]).toContain(failed.status);
      const created = await admin('kf-e2e/users', { method: 'POST', body: JSON.stringify({ username: 'carol', enabled: true }) });
      expect(created.status).toBe(201);

      type Entry = { kind: string; hostId: string; realm: string; actor: string; action: string; target: string };
      const entries = await vi.waitFor(
        async () => {
          const out = await cli(['audit', '--host', agent.hostId, '--realm', 'kf-e2e', '--kind', 'admin,login', '--since', '1h', '-o', 'json']);
          expect(out.code, out.stderr).toBe(0);
          const items = (JSON.parse(out.stdout) as { items: Entry[] }).items;
          expect(items.map((e) => e.action)).toEqual(expect.arrayContaining(['LOGIN_ERROR', 'CREATE USER']));
          return items;
        },
        { timeout: 60_000, interval: 1000 },
      );
      expect(entries.find((e) => e.action === 'LOGIN_ERROR')).toMatchObject({
        kind: 'login',
        hostId: agent.hostId,
        realm: 'kf-e2e',
        actor: 'mallory',
        outcome: 'denied',
        detail: { error: 'user_not_found', client: 'admin-cli' },
      });
      expect(entries.find((e) => e.action === 'CREATE USER')).toMatchObject({
        kind: 'admin',
        hostId: agent.hostId,
        realm: 'kf-e2e',
        actor: 'admin@master',
        target: expect.stringMatching(/^users\//),
        outcome: 'ok',
      });
      // Each event once, and neither the tried password nor the admin's anywhere in the trail.
      expect(new Set(entries.map((e) => `${e.action} ${e.target} ${e.actor}`)).size).toBe(entries.length);
      const table = await cli(['audit', '--host', agent.hostId, '--since', '1h']);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(/login\s+\S+\s+kf-e2e\s+mallory\s+LOGIN_ERROR/);
      expect(table.stdout).not.toContain('guess-1234');
      expect(table.stdout).not.toContain(adminPassword);
    },
    3 * 60_000,
  );

  it(
    'realm as code through the CLI: plan creates → apply → in sync → one change planned exactly → apply → rollback restores it',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kf-realm-e2e-'));
      const backendSecret = randomBytes(18).toString('base64url');
      await putSecret(fleet, 'kc-backend', backendSecret);
      const spec = (viewerDescription: string) =>
        [
          'realm: kf-shop',
          'displayName: Shop',
          'roles:',
          '  - name: viewer',
          `    description: ${viewerDescription}`,
          'clients:',
          '  - clientId: web',
          '    publicClient: true',
          '    redirectUris: ["https://shop.example.com/*"]',
          '  - clientId: backend',
          '    secret: { $secret: kc-backend }',
          '    serviceAccountsEnabled: true',
          '    standardFlowEnabled: false',
          '',
        ].join('\n');
      const v1File = join(dir, 'v1.yaml');
      const v2File = join(dir, 'v2.yaml');
      const badFile = join(dir, 'bad.yaml');
      await writeFile(v1File, spec('Can view'));
      await writeFile(v2File, spec('Can view orders'));
      await writeFile(badFile, `${spec('Can view')}colour: blue\n`);
      const realm = (...args: string[]) => cli(['realm', ...args]);
      try {
        const created = await realm('plan', '--target', agent.hostId, '--spec', v1File, '--output', 'json');
        expect(created.code, created.stderr).toBe(0);
        const createPlan = JSON.parse(created.stdout).results[0];
        expect(createPlan).toMatchObject({ ok: true, realm: 'kf-shop', inSync: false });
        expect(createPlan.changes.map((c: { action: string; resource: string; id: string }) => `${c.action} ${c.resource} ${c.id}`)).toEqual(
          expect.arrayContaining(['create realm kf-shop', 'create role viewer', 'create client web', 'create client backend']),
        );
        expect(createPlan.changes.every((c: { action: string }) => c.action === 'create')).toBe(true);
        expect(created.stdout).not.toContain(backendSecret);

        const applied = await realm('apply', '--target', agent.hostId, '--spec', v1File);
        expect(applied.code, applied.stderr).toBe(0);
        expect(applied.stdout).toMatch(/\+ client backend/);
        // The created confidential client logs in with the secret the hub filled in.
        expect(await login(`http://127.0.0.1:${httpPort}`, 'kf-shop', 'backend', backendSecret)).toBe(true);

        const inSync = await realm('plan', '--target', agent.hostId, '--spec', v1File, '--detailed-exitcode');
        expect(inSync.code, inSync.stdout + inSync.stderr).toBe(0);
        expect(inSync.stdout).toMatch(/realm kf-shop: in sync/);

        const changed = await realm('plan', '--target', agent.hostId, '--spec', v2File, '--detailed-exitcode', '--output', 'json');
        expect(changed.code, changed.stderr).toBe(2);
        expect(JSON.parse(changed.stdout).results[0].changes).toEqual([
          { resource: 'role', id: 'viewer', action: 'update', fields: [{ path: 'description', from: 'Can view', to: 'Can view orders' }] },
        ]);
        const appliedV2 = await realm('apply', '--target', agent.hostId, '--spec', v2File);
        expect(appliedV2.code, appliedV2.stderr).toBe(0);

        // Refused by the hub before any task exists: exit 2, "the command itself failed".
        const bad = await realm('apply', '--target', agent.hostId, '--spec', badFile);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/colour/);

        const history = await realm('history', '--host', agent.hostId, '--realm', 'kf-shop', '--output', 'json');
        expect(history.code, history.stderr).toBe(0);
        const versions = JSON.parse(history.stdout).items;
        // The refused spec left no version behind.
        expect(versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
        expect(versions[0].changes).toEqual([expect.objectContaining({ resource: 'role', id: 'viewer', action: 'update' })]);
        // Stored with the secret reference, never its value.
        expect(versions[1].spec.clients[1].secret).toEqual({ $secret: 'kc-backend' });
        expect(history.stdout).not.toContain(backendSecret);

        const rolledBack = await realm('rollback', '--host', agent.hostId, '--realm', 'kf-shop', '--version', '1', '--wait', '--output', 'json');
        expect(rolledBack.code, rolledBack.stderr).toBe(0);
        expect(JSON.parse(rolledBack.stdout).results[0].changes).toEqual([
          { resource: 'role', id: 'viewer', action: 'update', fields: [{ path: 'description', from: 'Can view orders', to: 'Can view' }] },
        ]);
        expect((await realm('plan', '--target', agent.hostId, '--spec', v1File, '--detailed-exitcode')).code).toBe(0);
        expect(await login(`http://127.0.0.1:${httpPort}`, 'kf-shop', 'backend', backendSecret)).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    10 * 60_000,
  );

  it(
    'update: a config Keycloak cannot start with rolls back while the old one serves; a good one switches side by side with 0 failed logins',
    async () => {
      const baseUrl = `http://127.0.0.1:${httpPort}`;
      const during = startProbe(baseUrl, clientSecret);
      const broken = await runTask(fleet, agent.hostId, 'keycloak.update', {
        ...install,
        database: { kind: 'external', url: 'jdbc:postgresql://127.0.0.1:1/keycloak', username: 'keycloak', password: { $secret: 'kc-db' } },
      });
      const brokenFigures = await during.stop();
      console.log(`[keycloak-process] broken update: ${brokenFigures.failed}/${brokenFigures.total} probe logins failed`);
      expectFailed(broken);
      expect(broken.error.message).toMatch(/^update rolled back: Keycloak will not become ready: the Keycloak process exited; timeline: /);
      expect(broken.error.message).toMatch(/127\.0\.0\.1:1|Connection refused/);
      expect(broken.error.message).toMatch(/timeline: .*compatibility check.*strategy \(side by side.*update failed.*stopped the new instance/);
      expect(brokenFigures.failed).toBe(0);
      expect(await login(baseUrl, 'kf-e2e', 'kf-probe', clientSecret)).toBe(true);

      const probe = startProbe(baseUrl, clientSecret);
      const updated = await runTask(fleet, agent.hostId, 'keycloak.update', { ...install, proxyHeaders: 'xforwarded', verifyLogin: goodLogin });
      const figures = await probe.stop();
      expectSucceeded(updated);
      expect(updated.output.outcome).toBe('updated');
      expect(updated.output.verify?.checks.find((c) => c.name === 'login')?.ok).toBe(true);
      const steps = updated.output.timeline.map((t) => t.step);
      expect(steps).toEqual(
        expect.arrayContaining([
          'strategy',
          'new instance ready',
          'verified the new instance',
          'switched traffic to the new instance',
          'stopped the old instance',
        ]),
      );
      expect(updated.output.timeline.find((t) => t.step === 'strategy')?.detail).toMatch(/^side by side/);
      // Switched before the old one stopped: the old one never left the probe without an answer.
      expect(steps.indexOf('switched traffic to the new instance')).toBeLessThan(steps.indexOf('stopped the old instance'));
      console.log(
        `[keycloak-process] update took ${((Date.parse(updated.finishedAt) - Date.parse(updated.startedAt)) / 1000).toFixed(1)}s; ` +
          `probe: ${figures.failed}/${figures.total} logins failed, longest outage ${figures.longestOutageMs} ms (side by side)`,
      );
      expect(figures.total).toBeGreaterThan(50);
      expect(figures.failed).toBe(0);
      expect(await login(baseUrl, 'kf-e2e', 'kf-probe', clientSecret)).toBe(true);
    },
    20 * 60_000,
  );

  it(
    'stop → verify fails with "connection refused"; start → ready again',
    async () => {
      const stopped = await runTask(fleet, agent.hostId, 'keycloak.stop', {}, 120_000);
      expectSucceeded(stopped);
      expect(stopped.output).toMatchObject({ changed: true, instance: { ready: false } });

      const down = await runTask(fleet, agent.hostId, 'keycloak.verify', {}, 120_000);
      expectFailed(down);
      expect(down.error.message).toMatch(new RegExp(`health: connection refused to http://127\\.0\\.0\\.1:${managementPort}/health/ready`));

      const restarted = await runTask(fleet, agent.hostId, 'keycloak.start', {}, 10 * 60_000);
      expectSucceeded(restarted);
      expect(restarted.output).toMatchObject({ changed: true, instance: { ready: true } });
      console.log(`[keycloak-process] optimized start took ${((Date.parse(restarted.finishedAt) - Date.parse(restarted.startedAt)) / 1000).toFixed(1)}s`);
      const stoppedAgain = await runTask(fleet, agent.hostId, 'keycloak.stop', {}, 120_000);
      expectSucceeded(stoppedAgain);
    },
    15 * 60_000,
  );
});
