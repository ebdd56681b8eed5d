import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ensureKeycloakImage,
  ensurePostgresImage,
  KEYCLOAK_VERSION,
  repoRoot,
  startDockerd,
  startFleet,
  startPebble,
  type AgentProcess,
  type DockerEngine,
  type Fleet,
  type PebbleServer,
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
import { runCli } from './run-cli.js';
import { handshake, httpsLogin, httpsLoginProbe } from './tls-e2e.js';

/** A certificate as GET /v1/certificates shows it (the fields this file reads). */
interface Cert {
  id: string;
  state: string;
  serial: string;
  servedSerial: string | null;
  lastIssuedMs: number;
  requestedByConfig: boolean;
  revocationReason: string | null;
}

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
  /** A real ACME CA whose HTTP-01 validator connects to the Keycloak's public HTTP port: the front's. */
  let pebble: PebbleServer;
  let issuerRoot: string;
  const adminPassword = randomBytes(18).toString('base64url');
  const clientSecret = randomBytes(18).toString('base64url');

  beforeAll(async () => {
    caDir = await mkdtemp(join(tmpdir(), 'tls-docker-'));
    httpPort = testPort();
    httpsPort = testPort();
    [engine, pebble] = await Promise.all([startDockerd(), startPebble({ httpPort })]);
    issuerRoot = await readFile(pebble.issuerRootFile, 'utf8');
    const [image, dbImage] = [await ensureKeycloakImage(engine.dockerHost), await ensurePostgresImage(engine.dockerHost)];
    // The hub trusts pebble's own TLS certificate to talk ACME and looks for due certificates often.
    fleet = await startFleet({ hubEnv: { NODE_EXTRA_CA_CERTS: pebble.caFile, KEYFLEET_CERT_SCAN_MS: '500' } });
    agent = await keycloakAgent(fleet, {
      DOCKER_HOST: engine.dockerHost,
      KEYFLEET_DOCKER_NAME_PREFIX: prefix,
      KEYFLEET_KEYCLOAK_DB_IMAGE: dbImage,
      KEYFLEET_KEYCLOAK_DB_PORT: String(testPort()),
      // The host trusts pebble's issuing root, as a host trusts a public CA: verify checks the chain.
      NODE_EXTRA_CA_CERTS: pebble.issuerRootFile,
      KEYFLEET_LOGS_INTERVAL_MS: '1000',
    });
    await putSecret(fleet, 'kc-admin', adminPassword);
    await putSecret(fleet, 'kc-db', randomBytes(18).toString('base64url'));
    await putSecret(fleet, 'kc-probe-secret', clientSecret);
    install = {
      version: KEYCLOAK_VERSION,
      runtime: 'docker',
      image,
      database: { kind: 'bundled', password: { $secret: 'kc-db' } },
      // The public HTTPS URL from the start, so the certificate asked for later changes nothing in Keycloak.
      hostname: `https://localhost:${httpsPort}`,
      httpPort,
      managementPort: testPort(),
      memoryLimitMb: 1536,
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
      tls: { httpsPort },
    };
  }, 40 * 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (engine) {
      await removeDockerInstance(engine.dockerHost, prefix);
      await engine.stop();
    }
    await pebble?.stop();
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

  it('ships the container’s Keycloak log to the hub (docker logs it, not a file)', async () => {
    const shipped = await vi.waitFor(
      async () => {
        const res = await fetch(`${fleet.hub.url}/v1/hosts/${agent.hostId}/logs?since=1h&grep=${encodeURIComponent('started in')}`, {
          headers: { authorization: `Bearer ${fleet.hub.adminToken}` },
        });
        expect(res.status).toBe(200);
        const { items } = (await res.json()) as { items: Array<{ id: string; source: string; level: string; line: string }> };
        expect(items.length).toBeGreaterThan(0);
        return items;
      },
      { timeout: 60_000, interval: 1_000 },
    );
    expect(shipped[0]).toMatchObject({ source: 'keycloak', level: 'info' });
    expect(shipped[0]!.id).toMatch(/^keycloak-docker\.log:/);
    // As Keycloak printed it: docker's own timestamp is not part of the line.
    expect(shipped[0]!.line).toMatch(/Keycloak \S+ on JVM .*started in/);
    expect(shipped[0]!.line).not.toMatch(/^\d{4}-\d\d-\d\dT/);
  });

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
    'keycloak install with a tls: block asks for a certificate: pebble validates HTTP-01 through the front on the public HTTP port; HTTPS serves it (handshake), plain HTTP closed, no container restart, verify passes with TLS; a renewal swaps with no failed login; certs revoke at the CA',
    async () => {
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fleet.api.raw(method, path, body === undefined ? {} : { body });
        return { status: res.status, body: res.json as Cert & { items: Cert[] } };
      };
      const startedAt = async () =>
        (
          await promisify(execFile)('docker', ['inspect', '--format', '{{.State.StartedAt}}', prefix], {
            env: { ...process.env, DOCKER_HOST: engine.dockerHost },
          })
        ).stdout.trim();
      const before = await startedAt();
      // The operator's config file: the install above plus the certificate to ask for.
      const configFile = join(caDir, 'keycloak.json');
      await writeFile(
        configFile,
        JSON.stringify({ ...install, tls: { httpsPort, certificate: { domains: ['localhost'], ca: pebble.directoryUrl, http01Port: httpPort } } }),
      );
      const t0 = Date.now();
      const installed = await runCli(
        repoRoot,
        fleet.hub.url,
        fleet.hub.adminToken,
        'keycloak',
        'install',
        '--target',
        agent.hostId,
        '--config',
        configFile,
        '--wait',
      );
      expect(installed.status, installed.stdout + installed.stderr).toBe(0);
      expect(installed.stdout).toMatch(/already installed, no change/);
      expect(installed.stdout).toMatch(/certificate for localhost on port \d+: the hub issues it once Keycloak is installed/);
      const cert = await vi.waitFor(
        async () => {
          const found = (await call('GET', `/v1/certificates?host=${agent.hostId}`)).body.items.find((c) => c.requestedByConfig);
          expect(found?.state).toBe('valid');
          return found!;
        },
        { timeout: 180_000, interval: 500 },
      );
      console.log(
        `[keycloak-docker] certificate asked for by keycloak install: valid and served ${((Date.now() - t0) / 1000).toFixed(1)}s after the CLI started; issuance (HTTP-01 through the front) took ${(cert.lastIssuedMs / 1000).toFixed(1)}s`,
      );
      expect(cert.servedSerial).toBe(cert.serial);
      // The front answered pebble's validation itself (it owns the public HTTP port), not a listener of the agent.
      expect(await readFile(join(agent.stateDir, 'keycloak-front.log'), 'utf8')).toContain('answered an ACME HTTP-01 challenge');
      // The proof from outside: a client trusting the CA gets this very certificate on the public HTTPS port.
      expect(await handshake(httpsPort, issuerRoot)).toMatchObject({ authorized: true, serial: cert.serial });
      expect(await httpsLogin(httpsPort, issuerRoot, clientSecret)).toBe(true);
      await expect(fetch(`http://127.0.0.1:${httpPort}/realms/master`)).rejects.toThrow();
      expect(await startedAt()).toBe(before);
      const verified = await runTask(fleet, agent.hostId, 'keycloak.verify', {}, 120_000);
      expectSucceeded(verified);
      expect(verified.output.checks.find((c) => c.name === 'tls')?.detail).toMatch(/^certificate of localhost:\d+ valid until/);

      // Renewal now, under HTTPS logins every 200 ms: HTTP is closed by the front, so the agent's own
      // short-lived listener answers this HTTP-01 challenge on the same port.
      const probe = httpsLoginProbe(httpsPort, issuerRoot, clientSecret);
      await vi.waitFor(() => expect(probe.count()).toBeGreaterThanOrEqual(5), { timeout: 30_000 });
      expect((await call('POST', `/v1/certificates/${cert.id}/renew`)).status).toBe(202);
      const renewed = await vi.waitFor(
        async () => {
          const c = (await call('GET', `/v1/certificates/${cert.id}`)).body;
          expect(c.state).toBe('valid');
          expect(c.servedSerial).not.toBe(cert.serial);
          return c;
        },
        { timeout: 180_000, interval: 500 },
      );
      const afterSwap = probe.count();
      await vi.waitFor(() => expect(probe.count()).toBeGreaterThanOrEqual(afterSwap + 5), { timeout: 30_000 });
      const { total, failed } = await probe.stop();
      console.log(`[keycloak-docker] renewal took ${(renewed.lastIssuedMs / 1000).toFixed(1)}s; ${total} HTTPS logins around it, ${failed} failed`);
      expect((await handshake(httpsPort, issuerRoot)).serial).toBe(renewed.serial);
      expect(failed).toBe(0);
      expect(await startedAt()).toBe(before);

      // Revoked at the CA through the CLI; the row says so, and the CA refuses to revoke it twice.
      const t1 = Date.now();
      const revoked = await runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, 'certs', 'revoke', cert.id, '--reason', 'superseded', '--output', 'json');
      expect(revoked.status, revoked.stdout + revoked.stderr).toBe(0);
      console.log(`[keycloak-docker] certs revoke (CLI → hub → pebble) took ${((Date.now() - t1) / 1000).toFixed(1)}s`);
      expect(JSON.parse(revoked.stdout)).toMatchObject({ id: cert.id, state: 'revoked', revocationReason: 'superseded' });
      expect((await call('POST', `/v1/certificates/${cert.id}/revoke`, {})).status).toBe(409);
    },
    10 * 60_000,
  );

  it(
    'Keycloak stays reachable while its agent is down (the front is its own process); stop → verify fails with the reason',
    async () => {
      await agent.kill('SIGKILL');
      // No agent now: the public HTTPS port must still lead to Keycloak.
      expect(await httpsLogin(httpsPort, issuerRoot, clientSecret)).toBe(true);
      await agent.start();
      expect(agent.proc.output.join('\n')).toContain('Keycloak front still serving');

      // And if the front itself dies (OOM, a stray kill), the running agent starts it again.
      const frontLog = (await readFile(join(agent.stateDir, 'keycloak-front.log'), 'utf8')).split('\n');
      const frontPid = (JSON.parse(frontLog.filter((l) => l.includes('front control listening')).at(-1)!) as { pid: number }).pid;
      process.kill(frontPid, 'SIGKILL');
      // Started again from the instance record: with its certificate, on the HTTPS port.
      await vi.waitFor(async () => expect(await httpsLogin(httpsPort, issuerRoot, clientSecret)).toBe(true), { timeout: 30_000, interval: 250 });
      expect((await handshake(httpsPort, issuerRoot)).authorized).toBe(true);
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
