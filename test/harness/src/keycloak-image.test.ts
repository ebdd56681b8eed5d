import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type DockerEngine } from './docker-engine.js';
import { ensurePostgresImage } from './docker-postgres-image.js';
import { ensureKeycloakImage } from './keycloak-image.js';
import { testPort } from './test-port.js';

const run = promisify(execFile);
type Docker = (args: string[], secrets?: Record<string, string>) => Promise<{ stdout: string; stderr: string }>;

describe('locally built Keycloak and Postgres images', () => {
  let engine: DockerEngine;
  const suffix = randomBytes(4).toString('hex');
  const containers = [`kf-test-pg-${suffix}`, `kf-test-kc-${suffix}`];
  // Secrets travel in the CLI's environment (`-e NAME` without a value), never in argv or error messages.
  const docker: Docker = (args, secrets = {}) =>
    run('docker', args, { env: { ...process.env, ...secrets, DOCKER_HOST: engine.dockerHost }, maxBuffer: 16 * 2 ** 20 });

  beforeAll(async () => {
    engine = await startDockerd();
  }, 120_000);
  afterAll(async () => {
    if (!engine) return;
    await docker(['rm', '-f', '-v', ...containers]).catch(() => undefined);
    await engine.stop();
  }, 120_000);

  it(
    'builds (or reuses) the images idempotently',
    async () => {
      const started = Date.now();
      const [keycloak, postgres] = [await ensureKeycloakImage(engine.dockerHost), await ensurePostgresImage(engine.dockerHost)];
      console.info(`images ready in ${Date.now() - started} ms`);
      expect(keycloak).toMatch(/^keyfleet\/keycloak:26\.\d+\.\d+$/);
      expect(postgres).toBe('keyfleet/postgres:15');
      const again = Date.now();
      expect(await ensureKeycloakImage(engine.dockerHost)).toBe(keycloak);
      expect(Date.now() - again).toBeLessThan(10_000);
      const { stdout } = await docker(['image', 'inspect', '--format', '{{json .Config.Entrypoint}} {{.Config.User}}', keycloak]);
      expect(stdout.trim()).toBe('["/opt/keycloak/bin/kc.sh"] 1000');
    },
    40 * 60_000,
  );

  it(
    'runs Keycloak on Postgres in host-network containers and logs in',
    async () => {
      const [pgPort, httpPort, managementPort] = [testPort(), testPort(), testPort()];
      const dbPassword = randomBytes(12).toString('hex');
      const adminPassword = randomBytes(12).toString('hex');
      await docker(
        [
          'run',
          '-d',
          '--name',
          containers[0]!,
          '--network',
          'host',
          '--memory',
          '512m',
          '-e',
          'POSTGRES_USER=keycloak',
          '-e',
          'POSTGRES_PASSWORD',
          '-e',
          'POSTGRES_DB=keycloak',
          '-e',
          `PGPORT=${pgPort}`,
          '-e',
          'POSTGRES_LISTEN=127.0.0.1',
          'keyfleet/postgres:15',
        ],
        { POSTGRES_PASSWORD: dbPassword },
      );
      await eventually(
        async () => {
          const client = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'keycloak', password: dbPassword, database: 'keycloak' });
          await client.connect();
          await client.end();
        },
        60_000,
        containers[0]!,
        docker,
      );

      const image = await ensureKeycloakImage(engine.dockerHost);
      const started = Date.now();
      // KC_RUN_IN_CONTAINER sizes the heap from the memory limit, so a limit is a must.
      await docker(
        [
          'run',
          '-d',
          '--name',
          containers[1]!,
          '--network',
          'host',
          '--memory',
          '1536m',
          '-e',
          'KC_BOOTSTRAP_ADMIN_USERNAME=admin',
          '-e',
          'KC_BOOTSTRAP_ADMIN_PASSWORD',
          '-e',
          `KC_DB_URL=jdbc:postgresql://127.0.0.1:${pgPort}/keycloak`,
          '-e',
          'KC_DB_USERNAME=keycloak',
          '-e',
          'KC_DB_PASSWORD',
          image,
          'start',
          '--optimized',
          '--http-enabled=true',
          '--hostname-strict=false',
          '--http-host=127.0.0.1',
          `--http-port=${httpPort}`,
          `--http-management-port=${managementPort}`,
          '--cache=local',
        ],
        { KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword, KC_DB_PASSWORD: dbPassword },
      );
      await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${managementPort}/health/ready`, { signal: AbortSignal.timeout(2_000) });
          if (!res.ok) throw new Error(`ready answered ${res.status}`);
        },
        300_000,
        containers[1]!,
        docker,
      );
      console.info(`keycloak container ready in ${Date.now() - started} ms`);

      const token = await fetch(`http://127.0.0.1:${httpPort}/realms/master/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: adminPassword }),
      });
      expect(token.status).toBe(200);
      // Keycloak really keeps its state in the Postgres container.
      const client = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'keycloak', password: dbPassword, database: 'keycloak' });
      await client.connect();
      const { rows } = await client.query<{ name: string }>('SELECT name FROM realm');
      await client.end();
      expect(rows.map((r) => r.name)).toContain('master');
    },
    8 * 60_000,
  );
});

/** Retries `fn` until it passes; gives up at once, with the container's logs, when the container has stopped. */
async function eventually(fn: () => Promise<void>, timeoutMs: number, container: string, docker: Docker): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const running = (await docker(['inspect', '--format', '{{.State.Running}}', container])).stdout.trim() === 'true';
      if (!running || Date.now() > deadline) {
        const logs = await docker(['logs', '--tail', '40', container]).then((l) => l.stdout + l.stderr, String);
        throw new Error(`${container} ${running ? `not ready after ${timeoutMs / 1000}s` : 'stopped'} (${(err as Error).message}); logs:\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
