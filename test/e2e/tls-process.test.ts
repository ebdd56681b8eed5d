import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureKeycloakDist,
  findJavaHome,
  repoRoot,
  startFleet,
  startPebble,
  type AgentProcess,
  type KeycloakDist,
  type Fleet,
  type PebbleServer,
  testPort,
} from '@keyfleet/test-harness';
import { createLoginClient, expectSucceeded, keycloakAgent, killProcessRuntime, putSecret, runTask } from './keycloak-e2e.js';
import { handshake, httpsLogin } from './tls-e2e.js';

const VALIDITY_SEC = 180;

/** A certificate as GET /v1/certificates/{id} shows it (the fields these tests read). */
interface Cert {
  id: string;
  state: string;
  attempts: number;
  serial: string;
  servedSerial: string | null;
  servedNotAfter: string;
  notBefore: string;
  notAfter: string;
  nextAttemptAt: string;
  lastError: string | null;
  lastIssuedMs: number;
  certificatePem?: string;
}

describe('certificates for a process-runtime Keycloak from a real ACME CA (pebble, HTTP-01)', () => {
  const started = Date.now();
  let pebble: PebbleServer;
  let fleet: Fleet;
  let agent: AgentProcess;
  let issuerRoot: string;
  let httpsPort: number;
  let httpPort: number;
  const adminPassword = randomBytes(18).toString('base64url');
  const clientSecret = randomBytes(18).toString('base64url');

  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        join(repoRoot, 'keyfleet'),
        args,
        { env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken }, timeout: 10 * 60_000 },
        (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }),
      );
    });

  /** The hub API as the admin, read to the end (JSON when there is a body). */
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Cert }> => {
    const res = await fetch(`${fleet.hub.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${fleet.hub.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  /** Polls `check` until it returns a value (the positive signal), or fails after `timeoutMs`. */
  const until = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };

  beforeAll(async () => {
    // Certificates live 180 s, so the 2/3 renewal (at 120 s) happens within the test.
    pebble = await startPebble({ validitySec: VALIDITY_SEC });
    issuerRoot = await readFile(pebble.issuerRootFile, 'utf8');
    let dist: KeycloakDist;
    [dist, fleet] = await Promise.all([
      ensureKeycloakDist(),
      // The hub trusts pebble's own TLS certificate to talk ACME; it scans for due certificates often.
      // ARI off: pebble's window is the whole 180 s life, so a drawn time could fall anywhere; this
      // file proves the 2/3 fallback (the tls feature's tests prove ARI against the same pebble).
      startFleet({
        hubEnv: { NODE_EXTRA_CA_CERTS: pebble.caFile, KEYFLEET_CERT_SCAN_MS: '500', KEYFLEET_CERT_RETRY_BASE_MS: '2000', KEYFLEET_ACME_ARI: 'off' },
      }),
    ]);
    // The agent trusts pebble's issuing root, as a host trusts a public CA, so verify can check the chain.
    agent = await keycloakAgent(fleet, { JAVA_HOME: findJavaHome(), NODE_EXTRA_CA_CERTS: pebble.issuerRootFile });
    [httpPort, httpsPort] = [testPort(), testPort()];
    await putSecret(fleet, 'kc-admin', adminPassword);
    const install = await runTask(fleet, agent.hostId, 'keycloak.install', {
      version: dist.version,
      runtime: 'process',
      distUrl: dist.tarball,
      database: { kind: 'dev-file' },
      hostname: `https://localhost:${httpsPort}`,
      httpPort,
      managementPort: testPort(),
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
      tls: { httpsPort, reloadPeriod: '31s' },
    });
    expectSucceeded(install);
    expect(install.output.verify?.checks.find((c) => c.name === 'tls')?.detail).toBe('TLS requested; no certificate installed yet');
    await createLoginClient(`http://127.0.0.1:${httpPort}`, adminPassword, 'kf-e2e', 'kf-probe', clientSecret);
    pidBefore = await readFile(pidFile(), 'utf8');
  }, 15 * 60_000);

  afterAll(async () => {
    probing = false;
    await probe;
    if (agent) await killProcessRuntime(agent.stateDir);
    await fleet?.stop();
    await pebble?.stop();
    console.log(`[tls-process] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 120_000);

  let certificateId: string;
  let firstSerial: string;
  /** Keycloak's pid before any certificate: neither turning HTTPS on nor a renewal may change it. */
  let pidBefore: string;
  const pidFile = () => join(agent.stateDir, 'keycloak', 'keycloak-a.pid');
  /**
   * HTTPS logins every 200 ms from the first issuance until the renewal was seen, so the renewal
   * (whenever the scheduler runs it, even during the fault tests) happens under the probe.
   */
  const results: boolean[] = [];
  let probing = false;
  let probe: Promise<void> = Promise.resolve();

  it(
    'issues over HTTP-01 with the key made on the host; the public HTTPS port serves it, plain HTTP is closed, Keycloak never restarted; keycloak.verify passes',
    async () => {
      const t0 = Date.now();
      const issued = await cli([
        'certs',
        'issue',
        '--target',
        agent.hostId,
        '--domain',
        'localhost',
        '--ca',
        pebble.directoryUrl,
        '--http01-port',
        String(pebble.httpPort),
        '--https-port',
        String(httpsPort),
        '--reload-period',
        '31s',
        '--wait',
        '--output',
        'json',
      ]);
      expect(issued.code, issued.stdout + issued.stderr).toBe(0);
      const cert = JSON.parse(issued.stdout);
      console.log(
        `[tls-process] first issuance (HTTPS turned on by the front, no Keycloak restart) took ${((Date.now() - t0) / 1000).toFixed(1)}s; hub measured ${cert.lastIssuedMs} ms`,
      );
      expect(cert).toMatchObject({ state: 'valid', domains: ['localhost'], lastError: null });
      expect(cert.servedSerial).toBe(cert.serial);
      certificateId = cert.id;
      firstSerial = cert.serial;
      probing = true;
      probe = (async () => {
        while (probing) {
          const at = Date.now();
          results.push(await httpsLogin(httpsPort, issuerRoot, clientSecret));
          await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - at))));
        }
      })();

      // The proof from outside: a client trusting the CA gets this very certificate on the public HTTPS port.
      const seen = await handshake(httpsPort, issuerRoot);
      expect(seen).toMatchObject({ authorized: true, serial: cert.serial });
      expect(await readFile(pidFile(), 'utf8')).toBe(pidBefore);
      // With TLS on, the public HTTP port is closed, and plain HTTP on the HTTPS port gets no answer.
      await expect(fetch(`http://127.0.0.1:${httpPort}/realms/master`)).rejects.toThrow();
      await expect(fetch(`http://127.0.0.1:${httpsPort}/realms/master`)).rejects.toThrow();

      // The key stayed on the host, owner-only, and never reached the hub's records.
      const keyFile = join(agent.stateDir, 'keycloak', 'tls', 'private-key.pem');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      expect((await stat(join(agent.stateDir, 'keycloak', 'tls', 'certificate.pem'))).mode & 0o777).toBe(0o600);
      const key = await readFile(keyFile, 'utf8');
      const shown = await cli(['certs', 'show', cert.id, '--output', 'json']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(new X509Certificate(JSON.parse(shown.stdout).certificatePem).fingerprint256).toBe(seen.fingerprint256);
      expect(shown.stdout).not.toContain(key.split('\n')[1]);
      const tasks = await call('GET', `/v1/tasks?hostId=${agent.hostId}&limit=100`);
      expect(JSON.stringify(tasks.body)).not.toContain(key.split('\n')[1]);

      const list = await cli(['certs', 'list']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`${cert.id}.*localhost.*valid.*${cert.serial}`));

      const verified = await runTask(fleet, agent.hostId, 'keycloak.verify', {}, 120_000);
      expectSucceeded(verified);
      expect(verified.output.checks.find((c) => c.name === 'tls')?.detail).toMatch(/^certificate of localhost:\d+ valid until/);
    },
    10 * 60_000,
  );

  it(
    'a challenge the CA cannot complete fails visibly and leaves the served certificate alone',
    async () => {
      // The host answers on a port the CA never connects to: validation fails.
      const wrongPort = testPort();
      const r = await call('POST', '/v1/certificates', {
        target: agent.hostId,
        domains: ['localhost'],
        ca: pebble.directoryUrl,
        http01Port: wrongPort,
        httpsPort,
        reloadPeriod: '31s',
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const failed = await until(
        'the failed attempt',
        async () => {
          const c = (await call('GET', `/v1/certificates/${r.body.id}`)).body;
          return c.state === 'failed' ? c : undefined;
        },
        120_000,
        500,
      );
      expect(failed.lastError).toMatch(/the CA could not validate localhost over HTTP-01 on port \d+/);
      expect(failed.attempts).toBeGreaterThanOrEqual(1);
      expect(Date.parse(failed.nextAttemptAt)).toBeGreaterThan(Date.now() - 1_000);
      expect((await handshake(httpsPort, issuerRoot)).serial).toBe(firstSerial);
      const list = await cli(['certs', 'list']);
      // Its retry (2 s later) may already run: the last error stays on the row meanwhile.
      expect(list.stdout).toMatch(new RegExp(`${r.body.id}.*(failed|issuing).*the CA could not validate`));
      // Stop its retries: they would only add load to the rest of the file (409 while one runs).
      await until(
        'the failing certificate removed',
        async () => (await call('DELETE', `/v1/certificates/${r.body.id}`)).status === 200 || undefined,
        60_000,
        500,
      );
    },
    5 * 60_000,
  );

  it(
    'a CA that is down: attempts retried with a doubling backoff, each failure visible',
    async () => {
      // Nothing listens there: every attempt fails at its first request.
      const ca = `https://127.0.0.1:${testPort()}/dir`;
      const r = await call('POST', '/v1/certificates', { target: agent.hostId, domains: ['localhost'], ca, httpsPort });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const seen: Array<{ attempts: number; nextAttemptAt: string; updatedAt: number }> = [];
      const third = await until(
        'three failed attempts',
        async () => {
          const c = (await call('GET', `/v1/certificates/${r.body.id}`)).body;
          if (c.state === 'failed' && !seen.some((x) => x.attempts === c.attempts))
            seen.push({ attempts: c.attempts, nextAttemptAt: c.nextAttemptAt, updatedAt: Date.now() });
          return c.attempts >= 3 && c.state === 'failed' ? c : undefined;
        },
        120_000,
        250,
      );
      expect(third.lastError).toBe(`the ACME directory ${ca} is unreachable: ECONNREFUSED`);
      // KEYFLEET_CERT_RETRY_BASE_MS=2000: the retry delays double (2 s, 4 s, …).
      const delays = seen.slice(-2).map((x) => Date.parse(x.nextAttemptAt) - x.updatedAt);
      expect(delays[1]! - delays[0]!).toBeGreaterThan(1_000);
      const list = await cli(['certs', 'list']);
      expect(list.stdout).toMatch(new RegExp(`${r.body.id}.*(failed|issuing).*unreachable`));
      await until('the certificate removed', async () => (await call('DELETE', `/v1/certificates/${r.body.id}`)).status === 200 || undefined, 60_000, 500);
      expect((await handshake(httpsPort, issuerRoot)).serial).toBe(firstSerial);
    },
    5 * 60_000,
  );

  it(
    'renews by itself at 2/3 of the lifetime: the new serial is served with no Keycloak restart and no failed login in a 200 ms probe',
    async () => {
      const renewed = await until(
        'the renewed certificate served',
        async () => {
          const c = (await call('GET', `/v1/certificates/${certificateId}`)).body;
          return c.servedSerial && c.servedSerial !== firstSerial ? c : undefined;
        },
        (VALIDITY_SEC + 120) * 1000,
        1_000,
      );
      probing = false;
      await probe;
      const failed = results.filter((ok) => !ok).length;
      console.log(
        `[tls-process] renewal (ACME order + install + the front's certificate swap) took ${(renewed.lastIssuedMs / 1000).toFixed(1)}s; ${results.length} HTTPS logins since the first issuance, ${failed} failed`,
      );
      expect(renewed).toMatchObject({ state: 'valid', lastError: null, attempts: 0 });
      expect(renewed.serial).toBe(renewed.servedSerial);
      // The next renewal is again at 2/3 of the new certificate's lifetime.
      const life = Date.parse(renewed.notAfter) - Date.parse(renewed.notBefore);
      expect(Math.abs(Date.parse(renewed.nextAttemptAt) - (Date.parse(renewed.notBefore) + (life * 2) / 3))).toBeLessThan(2_000);
      expect((await handshake(httpsPort, issuerRoot)).serial).toBe(renewed.serial);
      expect(results.length).toBeGreaterThan(10);
      expect(failed).toBe(0);
      expect(await readFile(pidFile(), 'utf8')).toBe(pidBefore);

      const metrics = await (await fetch(`${fleet.hub.url}/metrics`)).text();
      const line = metrics.split('\n').find((l) => l.startsWith('keyfleet_cert_not_after_seconds{') && l.includes('domain="localhost"'));
      expect(line).toBeDefined();
      expect(Number(line!.split(' ').at(-1))).toBe(Date.parse(renewed.servedNotAfter) / 1000);
    },
    (VALIDITY_SEC + 240) * 1000,
  );
});
