import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { keycloakConfig } from '@keyfleet/proto/v1';
import type { KeycloakInstanceRecord } from '../../instance/instance-store.js';
import type { KeycloakConfig, VerifyReport } from '../../keycloak-types.js';
import { freePort, freePorts } from '../free-port.js';
import type { RuntimeContext } from '../keycloak-runtime.js';
import { UpdateRolledBack } from '../update-rolled-back.js';
import { ProcessRuntime } from './process-runtime.js';

const log = createLogger('process-runtime-test', { level: 'silent' });

/**
 * Stands in for the Keycloak dist: `build` and `update-compatibility` succeed; `start` serves the
 * public and management listeners the way Keycloak does (health UP), answering with the dist it
 * runs from, and exits at once when its database URL points at port 1, as Keycloak does when it
 * cannot reach its database, or when a port it should listen on is taken, with Keycloak's words.
 */
const fakeKcSh = (node: string) => `#!/bin/sh
case "$1" in
  build|update-compatibility) exit 0 ;;
esac
case "$KC_DB_URL" in *:1/*) echo "Connection to 127.0.0.1:1 refused" >&2; exit 1 ;; esac
exec ${node} -e '
const http = require("node:http");
const dist = require("node:path").resolve(process.argv[1], "..", "..");
const host = process.env.KC_HTTP_HOST || "0.0.0.0";
const listen = (server, port) => server.once("error", (err) => {
  console.error("ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Port already bound: " + port + ": " + (err.code === "EADDRINUSE" ? "Address already in use" : err.message));
  process.exit(1);
}).listen(Number(port), host);
listen(http.createServer((req, res) => res.end(JSON.stringify({ dist, xff: req.headers["x-forwarded-for"] ?? null }))), process.env.KC_HTTP_PORT);
listen(http.createServer((req, res) => res.end(JSON.stringify({ status: "UP" }))), process.env.KC_HTTP_MANAGEMENT_PORT);
process.on("SIGTERM", () => process.exit(0));
' "$0"
`;

describe('ProcessRuntime with a stand-in Keycloak dist (real processes, real front)', () => {
  let dir: string;
  let jdk: string;
  let stateDir: string;
  let runtime: ProcessRuntime;
  let base: KeycloakConfig;
  let record: KeycloakInstanceRecord | undefined;
  const steps: string[] = [];
  const ctx: RuntimeContext = { signal: new AbortController().signal, log, note: (step, detail) => void steps.push(detail ? `${step}: ${detail}` : step) };
  const publicUrl = () => `http://127.0.0.1:${base.httpPort}`;
  const served = async () => ((await (await fetch(publicUrl())).json()) as { dist: string }).dist;
  const verifyAt = async (at: { baseUrl: string }): Promise<VerifyReport> => {
    const ok = (await fetch(at.baseUrl)).ok;
    return { ok, checkedAt: new Date().toISOString(), checks: [{ name: 'health', ok, detail: ok ? 'UP' : 'down', ms: 1 }] };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-process-runtime-'));
    stateDir = join(dir, 'state');
    const src = join(dir, 'dist', 'keycloak-26.7.4');
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'bin', 'kc.sh'), fakeKcSh(process.execPath));
    await chmod(join(src, 'bin', 'kc.sh'), 0o755);
    await writeFile(join(src, 'version.txt'), 'Keycloak - Version 26.7.4\n');
    await promisify(execFile)('tar', ['-czf', join(dir, 'keycloak-26.7.4.tar.gz'), '-C', join(dir, 'dist'), 'keycloak-26.7.4']);
    jdk = join(dir, 'jdk');
    await mkdir(join(jdk, 'bin'), { recursive: true });
    await writeFile(join(jdk, 'bin', 'java'), '#!/bin/sh\n');
    await chmod(join(jdk, 'bin', 'java'), 0o755);
    await writeFile(join(jdk, 'release'), 'JAVA_VERSION="21.0.8"\n');
    runtime = new ProcessRuntime(stateDir, log, { JAVA_HOME: jdk });
    const httpPort = await freePort();
    base = keycloakConfig.parse({
      version: '26.7.4',
      runtime: 'process',
      distUrl: join(dir, 'keycloak-26.7.4.tar.gz'),
      database: { kind: 'external', url: 'jdbc:postgresql://127.0.0.1:5432/keycloak', username: 'keycloak', password: { $secret: 'db', value: 'db-pass' } },
      hostname: `http://127.0.0.1:${httpPort}`,
      httpPort,
      managementPort: await freePort(),
      bootstrapAdmin: { username: 'admin', password: { $secret: 'adm', value: 'adm-pass' } },
    });
  });

  afterAll(async () => {
    // Also when a test failed before a record existed: the front and any stand-in process must not outlive the file.
    await runtime.remove(record ?? ({ process: { supervisor: 'child' } } as KeycloakInstanceRecord));
    await rm(dir, { recursive: true, force: true });
  });

  it('installs behind the front: Keycloak on loopback backend ports, the public ports served by the front', async () => {
    record = await runtime.install(base, undefined, ctx);
    expect(record.process).toMatchObject({ slot: 'a', supervisor: 'child' });
    expect(record.process!.installDir).toMatch(/26\.7\.4-[0-9a-f]{12}-a$/);
    expect(record.process!.backendHttpPort).not.toBe(base.httpPort);
    expect(await served()).toBe(record.process!.installDir);
    expect((await fetch(`http://127.0.0.1:${base.managementPort}/health/ready`)).status).toBe(200);
    expect((await runtime.status(record)).running).toBe(true);
  });

  it('updates side by side: the new instance in the other slot takes over through the front, no request fails', async () => {
    const old = record!;
    let failures = 0;
    let requests = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        requests++;
        await served().catch(() => failures++);
      }
    })();
    steps.length = 0;
    try {
      record = await runtime.update(old, { ...base, features: ['token-exchange'] }, ctx, verifyAt);
    } finally {
      probing = false;
      await probe;
    }
    expect(record.process).toMatchObject({ slot: 'b' });
    expect(await served()).toBe(record.process!.installDir);
    expect(steps.join('\n')).toMatch(
      /strategy: side by side[\s\S]*new instance ready[\s\S]*verified the new instance[\s\S]*switched traffic[\s\S]*old instance drained[\s\S]*stopped the old instance/,
    );
    expect((await runtime.status(old)).running).toBe(false);
    expect(requests).toBeGreaterThan(10);
    expect(failures).toBe(0);
  });

  it('rolls a broken update back while the old instance keeps serving', async () => {
    const current = record!;
    steps.length = 0;
    const broken = { ...base, features: ['token-exchange'], database: { ...base.database, url: 'jdbc:postgresql://127.0.0.1:1/keycloak' } } as KeycloakConfig;
    const err = await runtime.update(current, broken, ctx, verifyAt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateRolledBack);
    expect((err as Error).message).toMatch(/Keycloak will not become ready: the Keycloak process exited/);
    expect(steps.join('\n')).toMatch(/update failed[\s\S]*stopped the new instance/);
    expect(steps.join('\n')).not.toMatch(/stopped the old instance/);
    expect(await served()).toBe(current.process!.installDir);
  });

  it('stops first with a dev-file database, and says so in the timeline', async () => {
    const devFile = { ...base, database: { kind: 'dev-file' } } as KeycloakConfig;
    record = await runtime.install(devFile, record, ctx);
    steps.length = 0;
    const updated = await runtime.update(record, { ...devFile, features: ['token-exchange'] }, ctx, verifyAt);
    expect(steps.join('\n')).toMatch(
      /strategy: recreate: a dev-file database cannot be shared[\s\S]*stopped the old instance[\s\S]*new instance ready[\s\S]*switched traffic/,
    );
    expect((await runtime.status(record)).running).toBe(false);
    record = updated;
    expect(await served()).toBe(record.process!.installDir);
  });

  it('recreate: the upgrade hooks run once the old instance stopped (before the new one starts) and, in a rollback, before the old one starts again', async () => {
    const current = record!;
    steps.length = 0;
    const events: string[] = [];
    const oldRunning = async () => (await runtime.status(current)).running;
    const hooked: RuntimeContext = {
      ...ctx,
      compatibility: (verdict) => void events.push(`compatibility: ${verdict}`),
      oldStopped: async () => void events.push(`oldStopped (old running: ${await oldRunning()})`),
      beforeOldRestarts: async () => void events.push(`beforeOldRestarts (old running: ${await oldRunning()})`),
    };
    const refused = async (): Promise<VerifyReport> => ({
      ok: false,
      checkedAt: new Date().toISOString(),
      checks: [{ name: 'login', ok: false, detail: 'refused', ms: 1 }],
    });
    const err = await runtime.update(current, { ...current.config, features: [] }, hooked, refused).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateRolledBack);
    expect(events).toEqual(['compatibility: rolling', 'oldStopped (old running: false)', 'beforeOldRestarts (old running: false)']);
    expect(steps.join('\n')).toMatch(
      /stopped the old instance[\s\S]*new instance ready[\s\S]*update failed[\s\S]*stopped the new instance[\s\S]*rolled back: old instance ready/,
    );
    expect(await served()).toBe(current.process!.installDir);
  });

  it('stop closes the front and stops Keycloak; start brings both back', async () => {
    expect(await runtime.stop(record!)).toBe(true);
    await expect(fetch(publicUrl())).rejects.toThrow();
    await runtime.start(record!, ctx);
    expect(await served()).toBe(record!.process!.installDir);
  });

  it('moves an instance from before the front (listening on the public ports itself) behind the front with its next update', async () => {
    await runtime.stop(record!);
    const { slot: _slot, backendHttpPort: _http, backendManagementPort: _management, ...legacyDeployment } = record!.process!;
    const legacy: KeycloakInstanceRecord = { ...record!, process: legacyDeployment };
    await runtime.start(legacy, ctx);
    expect(await served()).toBe(legacy.process!.installDir);
    steps.length = 0;
    record = await runtime.update(legacy, base, ctx, verifyAt);
    expect(record.process).toMatchObject({ slot: 'a' });
    expect(steps.join('\n')).toMatch(/verified the new instance\nstopped the old instance: it listened on the public ports itself[^\n]*\nswitched traffic/);
    expect(await served()).toBe(record.process!.installDir);
    expect((await runtime.status(legacy)).running).toBe(false);
  });

  it('starts a new Keycloak again on new ports when another process took a backend port before it bound it', async () => {
    // Chosen free, then taken before Keycloak binds it: what another process or an outgoing connection does at random.
    const thief = createServer();
    thief.listen(0, '127.0.0.1');
    await once(thief, 'listening');
    const takenPort = (thief.address() as { port: number }).port;
    const chosen: number[][] = [];
    const taking = (index: 0 | 1) => async () => {
      const ports = await freePorts(2);
      if (chosen.length === 0) ports[index] = takenPort;
      chosen.push(ports);
      return ports;
    };
    try {
      steps.length = 0;
      const updating = new ProcessRuntime(stateDir, log, { JAVA_HOME: jdk }, taking(0));
      const old = record!;
      record = await updating.update(old, { ...base, features: ['token-exchange'] }, ctx, verifyAt);
      expect(chosen).toHaveLength(2);
      expect(steps.join('\n')).toMatch(
        new RegExp(
          `backend port taken: Keycloak exited: port ${takenPort} was taken by another process[^\\n]*start 2 of 3\\)\\nnew instance ready[\\s\\S]*switched traffic`,
        ),
      );
      expect(record.process).toMatchObject({ backendHttpPort: chosen[1]![0], backendManagementPort: chosen[1]![1] });
      expect(await served()).toBe(record.process!.installDir);
      expect((await runtime.status(old)).running).toBe(false);

      // A fresh install re-points the front it opened to the new ports too.
      chosen.length = 0;
      steps.length = 0;
      record = await new ProcessRuntime(stateDir, log, { JAVA_HOME: jdk }, taking(1)).install(base, record, ctx);
      expect(steps.join('\n')).toMatch(new RegExp(`backend port taken: Keycloak exited: port ${takenPort} was taken`));
      expect(record.process).toMatchObject({ backendHttpPort: chosen[1]![0], backendManagementPort: chosen[1]![1] });
      expect(await served()).toBe(record.process!.installDir);
      expect((await fetch(`http://127.0.0.1:${base.managementPort}/health/ready`)).status).toBe(200);
    } finally {
      thief.close();
    }
  });
});
