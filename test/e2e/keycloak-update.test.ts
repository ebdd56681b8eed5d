import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
import {
  createLoginClient,
  expectFailed,
  expectSucceeded,
  keycloakAgent,
  login,
  putSecret,
  removeDockerInstance,
  runTask,
  startProbe,
  type TaskParams,
} from './keycloak-e2e.js';
import { handshake, httpsLoginProbe, throwawayCa } from './tls-e2e.js';

const run = promisify(execFile);

describe('keycloak.update on the docker runtime (real dockerd): rollback and zero-downtime switch', () => {
  const started = Date.now();
  const prefix = `kf-e2e-update-${randomBytes(3).toString('hex')}`;
  let engine: DockerEngine;
  let fleet: Fleet;
  let agent: AgentProcess;
  let baseUrl: string;
  let config: TaskParams<'keycloak.install'>;
  const adminPassword = randomBytes(18).toString('base64url');
  const clientSecret = randomBytes(18).toString('base64url');
  const docker = (...args: string[]) => run('docker', args, { env: { ...process.env, DOCKER_HOST: engine.dockerHost } }).then((r) => r.stdout.trim());

  beforeAll(async () => {
    engine = await startDockerd();
    const [image, dbImage] = [await ensureKeycloakImage(engine.dockerHost), await ensurePostgresImage(engine.dockerHost)];
    fleet = await startFleet();
    agent = await keycloakAgent(fleet, {
      DOCKER_HOST: engine.dockerHost,
      KEYFLEET_DOCKER_NAME_PREFIX: prefix,
      KEYFLEET_KEYCLOAK_DB_IMAGE: dbImage,
      KEYFLEET_KEYCLOAK_DB_PORT: String(testPort()),
    });
    const httpPort = testPort();
    baseUrl = `http://127.0.0.1:${httpPort}`;
    await putSecret(fleet, 'kc-admin', adminPassword);
    await putSecret(fleet, 'kc-db', randomBytes(18).toString('base64url'));
    await putSecret(fleet, 'kc-probe-secret', clientSecret);
    config = {
      version: KEYCLOAK_VERSION,
      runtime: 'docker',
      image,
      database: { kind: 'bundled', password: { $secret: 'kc-db' } },
      hostname: baseUrl,
      httpPort,
      managementPort: testPort(),
      memoryLimitMb: 1536,
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
    };
    const installed = await runTask(fleet, agent.hostId, 'keycloak.install', config, 30 * 60_000);
    expectSucceeded(installed);
    await createLoginClient(baseUrl, adminPassword, 'kf-e2e', 'kf-probe', clientSecret);
    config.verifyLogin = { grant: 'client_credentials', realm: 'kf-e2e', clientId: 'kf-probe', clientSecret: { $secret: 'kc-probe-secret' } };
  }, 45 * 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (engine) {
      await removeDockerInstance(engine.dockerHost, prefix);
      await engine.stop();
    }
    console.log(`[keycloak-update] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 180_000);

  it(
    'a broken config (database unreachable) rolls back automatically; the old container serves throughout',
    async () => {
      const before = await docker('inspect', '--format', '{{.Id}}', prefix);
      const probe = startProbe(baseUrl, clientSecret);
      const broken = await runTask(fleet, agent.hostId, 'keycloak.update', {
        ...config,
        database: { kind: 'external', url: 'jdbc:postgresql://127.0.0.1:1/keycloak', username: 'keycloak', password: { $secret: 'kc-db' } },
      });
      const figures = await probe.stop();
      console.log(`[keycloak-update] broken update: ${figures.failed}/${figures.total} probe logins failed, longest outage ${figures.longestOutageMs} ms`);
      expectFailed(broken);
      expect(broken.error.code).toBe('handler_error');
      expect(broken.error.message).toMatch(/^update rolled back: Keycloak will not become ready: container \S+-next keeps exiting .*; timeline: /);
      expect(broken.error.message).toMatch(/127\.0\.0\.1:1|Connection refused/);
      expect(broken.error.message).toMatch(/timeline: .*compatibility check.*started the new container.*update failed.*removed the new container/);
      expect(figures.failed).toBe(0);
      // The old container is the same one and still the one serving.
      expect(await docker('inspect', '--format', '{{.Id}}', prefix)).toBe(before);
      expect(await docker('ps', '-aq', '--filter', `name=^${prefix}-next$`)).toBe('');
      expect(await login(baseUrl, 'kf-e2e', 'kf-probe', clientSecret)).toBe(true);
    },
    30 * 60_000,
  );

  it(
    'with HTTPS on the public port, a good config change switches to a new container with 0 failed HTTPS logins for a probe every 200 ms, the certificate served throughout',
    async () => {
      // Both containers sit behind the one front, which terminates TLS: neither binds the HTTPS port.
      const dir = await mkdtemp(join(tmpdir(), 'tls-update-'));
      const ca = await throwawayCa(dir);
      const httpsPort = testPort();
      const csr = await runTask(fleet, agent.hostId, 'tls.csr', { certificateId: 'crt_update', domains: ['localhost'] }, 60_000);
      expectSucceeded(csr);
      const certificatePem = await ca.sign(csr.output.csrPem);
      await rm(dir, { recursive: true, force: true });
      const installed = await runTask(fleet, agent.hostId, 'tls.install', { certificateId: 'crt_update', certificatePem, httpsPort }, 120_000);
      expectSucceeded(installed);
      const next = { ...config, proxyHeaders: 'xforwarded' as const, tls: { httpsPort } };
      const probe = httpsLoginProbe(httpsPort, ca.rootPem, clientSecret);
      const updated = await runTask(fleet, agent.hostId, 'keycloak.update', next);
      const figures = await probe.stop();
      expectSucceeded(updated);
      const steps = updated.output.timeline.map((t) => t.step);
      const at = (step: string) => Date.parse(updated.output.timeline.find((t) => t.step === step)?.at ?? '');
      console.log(
        `[keycloak-update] good update took ${((Date.parse(updated.finishedAt) - Date.parse(updated.startedAt)) / 1000).toFixed(1)}s ` +
          `(new container ready after ${((at('new container ready') - at('update started')) / 1000).toFixed(1)}s); ` +
          `HTTPS probe: ${figures.failed}/${figures.total} logins failed`,
      );
      expect(updated.output.outcome).toBe('updated');
      expect(steps).toEqual(
        expect.arrayContaining([
          'compatibility check',
          'new container ready',
          'verified the new container',
          'switched traffic to the new container',
          'removed the old container',
        ]),
      );
      expect(updated.output.verify?.ok).toBe(true);
      expect(figures.total).toBeGreaterThan(50);
      expect(figures.failed).toBe(0);
      // The new container (renamed into place) runs the new config; the side container is gone.
      expect(await docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', prefix)).toMatch(/^KC_PROXY_HEADERS=xforwarded$/m);
      expect(await docker('ps', '-aq', '--filter', `name=^${prefix}-next$`)).toBe('');
      // Re-applying the config kept the installed certificate.
      expect((await handshake(httpsPort, ca.rootPem)).fingerprint256).toBe(installed.output.served.fingerprint256);

      const again = await runTask(fleet, agent.hostId, 'keycloak.update', next, 5 * 60_000);
      expectSucceeded(again);
      expect(again.output.outcome).toBe('unchanged');
    },
    30 * 60_000,
  );
});
