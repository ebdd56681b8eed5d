import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
import {
  adminCall,
  createLoginClient,
  expectFailed,
  expectSucceeded,
  keycloakAgent,
  putSecret,
  removeDockerInstance,
  runTask,
  type TaskParams,
} from './keycloak-e2e.js';
import { handshake, httpsLogin, httpsLoginProbe, throwawayCa } from './tls-e2e.js';

/** A client-credentials login sent from `localAddress`, with whatever extra headers a client may invent. */
function loginFrom(localAddress: string, url: string, form: Record<string, string>, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams(form).toString();
    const req = request(url, { method: 'POST', localAddress, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('keycloak docker runtime through the hub (real dockerd, locally built image)', () => {
  const started = Date.now();
  const prefix = `kf-e2e-docker-${randomBytes(3).toString('hex')}`;
  let engine: DockerEngine;
  let fleet: Fleet;
  let agent: AgentProcess;
  let httpPort: number;
  let install: TaskParams<'keycloak.install'>;
  let httpsPort: number;
  let caDir: string;
  let ca: Awaited<ReturnType<typeof throwawayCa>>;
  const adminPassword = randomBytes(18).toString('base64url');
  const clientSecret = randomBytes(18).toString('base64url');

  beforeAll(async () => {
    caDir = await mkdtemp(join(tmpdir(), 'tls-docker-'));
    engine = await startDockerd();
    const [image, dbImage] = [await ensureKeycloakImage(engine.dockerHost), await ensurePostgresImage(engine.dockerHost)];
    fleet = await startFleet();
    agent = await keycloakAgent(fleet, {
      DOCKER_HOST: engine.dockerHost,
      KEYFLEET_DOCKER_NAME_PREFIX: prefix,
      KEYFLEET_KEYCLOAK_DB_IMAGE: dbImage,
      KEYFLEET_KEYCLOAK_DB_PORT: String(testPort()),
    });
    httpPort = testPort();
    httpsPort = testPort();
    await putSecret(fleet, 'kc-admin', adminPassword);
    await putSecret(fleet, 'kc-db', randomBytes(18).toString('base64url'));
    await putSecret(fleet, 'kc-probe-secret', clientSecret);
    install = {
      version: KEYCLOAK_VERSION,
      runtime: 'docker',
      image,
      database: { kind: 'bundled', password: { $secret: 'kc-db' } },
      hostname: `http://127.0.0.1:${httpPort}`,
      httpPort,
      managementPort: testPort(),
      memoryLimitMb: 1536,
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
    };
  }, 40 * 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (engine) {
      await removeDockerInstance(engine.dockerHost, prefix);
      await engine.stop();
    }
    if (caDir) await rm(caDir, { recursive: true, force: true });
    console.log(`[keycloak-docker] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 180_000);

  it(
    'installs with a bundled Postgres behind the agent front, verifies with a real login; a second install changes nothing',
    async () => {
      const first = await runTask(fleet, agent.hostId, 'keycloak.install', install, 20 * 60_000);
      expectSucceeded(first);
      expect(first.output.changed).toBe(true);
      expect(first.output.instance).toMatchObject({ runtime: 'docker', version: KEYCLOAK_VERSION, ready: true, baseUrl: `http://127.0.0.1:${httpPort}` });
      expect(first.output.verify.ok).toBe(true);
      const { stdout: memory } = await promisify(execFile)('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', prefix], {
        env: { ...process.env, DOCKER_HOST: engine.dockerHost },
      });
      console.log(
        `[keycloak-docker] install took ${((Date.parse(first.finishedAt) - Date.parse(first.startedAt)) / 1000).toFixed(1)}s (container memory ${memory.trim()}): ${first.output.steps.join(' | ')}`,
      );

      await createLoginClient(`http://127.0.0.1:${httpPort}`, adminPassword, 'kf-e2e', 'kf-probe', clientSecret);
      const login = { grant: 'client_credentials', realm: 'kf-e2e', clientId: 'kf-probe', clientSecret: { $secret: 'kc-probe-secret' } } as const;
      const verified = await runTask(fleet, agent.hostId, 'keycloak.verify', { login }, 120_000);
      expectSucceeded(verified);
      expect(verified.output.checks.every((c) => c.ok)).toBe(true);
      expect(verified.output.checks.find((c) => c.name === 'login')?.detail).toMatch(/access token issued/);

      const status = await runTask(fleet, agent.hostId, 'keycloak.status', {}, 60_000);
      expectSucceeded(status);
      expect(status.output.instance).toMatchObject({ runtime: 'docker', ready: true });
      expect(status.output.instance?.realms).toEqual(expect.arrayContaining(['master', 'kf-e2e']));

      const again = await runTask(fleet, agent.hostId, 'keycloak.install', { ...install, verifyLogin: login }, 10 * 60_000);
      expectSucceeded(again);
      expect(again.output.changed).toBe(false);
      expect(again.output.verify?.checks.find((c) => c.name === 'login')?.ok).toBe(true);
    },
    40 * 60_000,
  );

  it(
    "records the client's own address in Keycloak's login events, not the front's, and ignores the one a client claims",
    async () => {
      const baseUrl = `http://127.0.0.1:${httpPort}`;
      await adminCall(baseUrl, adminPassword, 'PUT', '/realms/kf-e2e/events/config', { eventsEnabled: true, enabledEventTypes: ['CLIENT_LOGIN'] });
      // The agent turns events on in every realm by itself (the audit trail reads them), so the
      // earlier tests' verify logins may be stored too: only events from now on count (same clock: the
      // container shares the host kernel's).
      const since = Date.now();
      // From 127.0.0.2: the front itself connects to Keycloak from 127.0.0.1, so the two cannot be confused.
      const status = await loginFrom(
        '127.0.0.2',
        `${baseUrl}/realms/kf-e2e/protocol/openid-connect/token`,
        { grant_type: 'client_credentials', client_id: 'kf-probe', client_secret: clientSecret },
        { 'x-forwarded-for': '203.0.113.66', forwarded: 'for=203.0.113.66' },
      );
      expect(status).toBe(200);
      const events = await vi.waitFor(
        async () => {
          const found = (await adminCall(baseUrl, adminPassword, 'GET', '/realms/kf-e2e/events?type=CLIENT_LOGIN&client=kf-probe')) as Array<{
            ipAddress: string;
            time: number;
          }>;
          const mine = found.filter((e) => e.time >= since);
          expect(mine.length).toBeGreaterThan(0);
          return mine;
        },
        { timeout: 30_000, interval: 500 },
      );
      expect(events.map((e) => e.ipAddress)).toEqual(['127.0.0.2']);
    },
    5 * 60_000,
  );

  it(
    'HTTPS on the public port (the front terminates TLS, nothing mounted in the container): plain HTTP closed; a renewal is served with no container restart and no failed HTTPS login',
    async () => {
      ca = await throwawayCa(caDir);
      const install = async (certificateId: string) => {
        const csr = await runTask(fleet, agent.hostId, 'tls.csr', { certificateId, domains: ['localhost'] }, 60_000);
        expectSucceeded(csr);
        const installed = await runTask(
          fleet,
          agent.hostId,
          'tls.install',
          { certificateId, certificatePem: await ca.sign(csr.output.csrPem), httpsPort },
          120_000,
        );
        expectSucceeded(installed);
        return installed.output;
      };
      const startedAt = async () =>
        (
          await promisify(execFile)('docker', ['inspect', '--format', '{{.State.StartedAt}}', prefix], {
            env: { ...process.env, DOCKER_HOST: engine.dockerHost },
          })
        ).stdout.trim();
      const before = await startedAt();
      const first = await install('crt_docker_1');
      expect(first.restarted).toBe(false);
      const seen = await handshake(httpsPort, ca.rootPem);
      expect(seen).toMatchObject({ authorized: true, fingerprint256: first.installed.fingerprint256 });
      expect(await httpsLogin(httpsPort, ca.rootPem, clientSecret)).toBe(true);
      await expect(fetch(`http://127.0.0.1:${httpPort}/realms/master`)).rejects.toThrow();

      const probe = httpsLoginProbe(httpsPort, ca.rootPem, clientSecret);
      await vi.waitFor(() => expect(probe.count()).toBeGreaterThanOrEqual(5), { timeout: 30_000 });
      const second = await install('crt_docker_2');
      const afterSwap = probe.count();
      await vi.waitFor(() => expect(probe.count()).toBeGreaterThanOrEqual(afterSwap + 5), { timeout: 30_000 });
      const { total, failed } = await probe.stop();
      console.log(`[keycloak-docker] certificate swap served after ${second.servedAfterSec.toFixed(1)}s; ${total} HTTPS logins around it, ${failed} failed`);
      expect(second.installed.serial).not.toBe(first.installed.serial);
      expect((await handshake(httpsPort, ca.rootPem)).fingerprint256).toBe(second.installed.fingerprint256);
      expect(failed).toBe(0);
      expect(await startedAt()).toBe(before);
      // The agent reaches Keycloak on its loopback port now: verify still passes end to end.
      expectSucceeded(await runTask(fleet, agent.hostId, 'keycloak.verify', {}, 120_000));
    },
    10 * 60_000,
  );

  it(
    'Keycloak stays reachable while its agent is down (the front is its own process); stop → verify fails with the reason',
    async () => {
      await agent.kill('SIGKILL');
      // No agent now: the public HTTPS port must still lead to Keycloak.
      expect(await httpsLogin(httpsPort, ca.rootPem, clientSecret)).toBe(true);
      await agent.start();
      expect(agent.proc.output.join('\n')).toContain('Keycloak front still serving');

      // And if the front itself dies (OOM, a stray kill), the running agent starts it again.
      const frontLog = (await readFile(join(agent.stateDir, 'keycloak-front.log'), 'utf8')).split('\n');
      const frontPid = (JSON.parse(frontLog.filter((l) => l.includes('front control listening')).at(-1)!) as { pid: number }).pid;
      process.kill(frontPid, 'SIGKILL');
      // Started again from the instance record: with its certificate, on the HTTPS port.
      await vi.waitFor(async () => expect(await httpsLogin(httpsPort, ca.rootPem, clientSecret)).toBe(true), { timeout: 30_000, interval: 250 });
      expect((await handshake(httpsPort, ca.rootPem)).authorized).toBe(true);
      await agent.proc.waitFor(/the Keycloak front was not serving; started it again/, 5_000);
      const after = await runTask(fleet, agent.hostId, 'keycloak.verify', {}, 120_000);
      expectSucceeded(after);

      const stopped = await runTask(fleet, agent.hostId, 'keycloak.stop', {}, 120_000);
      expectSucceeded(stopped);
      const down = await runTask(fleet, agent.hostId, 'keycloak.verify', {}, 120_000);
      expectFailed(down);
      expect(down.error.message).toMatch(/health: connection refused to http:\/\/127\.0\.0\.1:\d+\/health\/ready/);
    },
    10 * 60_000,
  );
});
