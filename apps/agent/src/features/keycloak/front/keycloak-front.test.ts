import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { frontControl } from './front-control.js';
import { freePort } from '../runtime/free-port.js';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { saveInstance, type KeycloakInstanceRecord } from '../instance/instance-store.js';
import { KeycloakFront, type PortPair } from './keycloak-front.js';

const log = createLogger('front-test', { level: 'silent' });

/** A backend pair answering with its name, like a Keycloak container's HTTP and management ports. */
async function backend(name: string): Promise<{ ports: PortPair; servers: Server[] }> {
  const servers = ['http', 'management'].map((kind) => createServer((_req, res) => res.end(`${name}-${kind}`)));
  const ports = await Promise.all(servers.map((s) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)))));
  return { ports: { httpPort: ports[0]!, managementPort: ports[1]! }, servers };
}

const get = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).text();

describe('KeycloakFront (a real front process)', () => {
  let stateDir: string;
  let a: Awaited<ReturnType<typeof backend>>;
  let b: Awaited<ReturnType<typeof backend>>;
  let pub: PortPair;
  let front: KeycloakFront;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-front-'));
    [a, b] = await Promise.all([backend('a'), backend('b')]);
    pub = { httpPort: await freePort(), managementPort: await freePort() };
    front = KeycloakFront.for(stateDir, log);
  });
  afterAll(async () => {
    await front?.close();
    for (const s of [...(a?.servers ?? []), ...(b?.servers ?? [])]) s.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('outlives the agent that started it: still serving after that process is killed', async () => {
    // The "agent" is a separate process, killed the way a crash or an upgrade would.
    const module = fileURLToPath(new URL('./keycloak-front.ts', import.meta.url));
    const script = `
      const { KeycloakFront } = await import(${JSON.stringify(module)});
      const { createLogger } = await import('@keyfleet/log');
      await KeycloakFront.for(${JSON.stringify(stateDir)}, createLogger('x', { level: 'silent' })).open(${JSON.stringify(pub)}, ${JSON.stringify(a.ports)});
      console.log('opened');
      setInterval(() => {}, 1000);`;
    const agent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(fileURLToPath(new URL('.', import.meta.url)), '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((opened, failed) => {
      agent.stdout.on('data', (d: Buffer) => d.toString().includes('opened') && opened());
      agent.once('exit', (code) => failed(new Error(`the agent process exited with ${code}`)));
    });
    agent.removeAllListeners('exit');
    agent.kill('SIGKILL');
    await new Promise((r) => agent.once('exit', r));

    expect(await get(pub.httpPort)).toBe('a-http');
    expect(await get(pub.managementPort)).toBe('a-management');
    expect(await front.isOpen()).toBe(true);
    expect(await readFile(join(stateDir, 'keycloak-front.log'), 'utf8')).toContain('front serving');
  });

  it('switches new requests to another backend on the same ports and drains the old one', async () => {
    await front.open(pub, b.ports);
    expect(await get(pub.httpPort)).toBe('b-http');
    expect(await get(pub.managementPort)).toBe('b-management');
    expect(await front.drain(a.ports, 1_000)).toBe(true);
  });

  it('moving to ports that are taken fails and leaves it serving where it was', async () => {
    const taken = await backend('taken');
    try {
      await expect(front.open(taken.ports, b.ports)).rejects.toThrow(`port ${taken.ports.httpPort} is already in use`);
      expect(await get(pub.httpPort)).toBe('b-http');
      expect(await front.isOpen()).toBe(true);
    } finally {
      for (const s of taken.servers) s.close();
    }
  });

  it('answers a malformed command with an error and keeps serving', async () => {
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connect({ path: frontControl.socketPath(stateDir) });
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.write('{"kind":"open","ports":{"httpPort":"eighty"}}\n');
    });
    expect(JSON.parse(reply)).toEqual({ kind: 'error', message: 'malformed command' });
    expect(await get(pub.httpPort)).toBe('b-http');
  });

  it('close releases the ports and ends the front process', async () => {
    await front.close();
    expect(await front.isOpen()).toBe(false);
    await expect(get(pub.httpPort)).rejects.toThrow();
    // Closing again, with no front running, is not an error.
    await front.close();
  });
});

describe('KeycloakFront.ensure (the agent start and its watchdog)', () => {
  let stateDir: string;
  let a: Awaited<ReturnType<typeof backend>>;
  let pub: PortPair;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-front-'));
    a = await backend('a');
    pub = { httpPort: await freePort(), managementPort: await freePort() };
  });
  afterAll(async () => {
    await KeycloakFront.for(stateDir, log).close();
    for (const s of a?.servers ?? []) s.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const record = (desiredState: 'running' | 'stopped'): KeycloakInstanceRecord => ({
    runtime: 'docker',
    version: '26.7.4',
    baseUrl: `http://127.0.0.1:${pub.httpPort}`,
    managementUrl: `http://127.0.0.1:${pub.managementPort}`,
    hostname: 'id.example.com',
    ...pub,
    adminUser: 'admin',
    adminPassword: 'very-secret-admin',
    configHash: 'abc',
    config: keycloakConfig.parse({
      version: '26.7.4',
      runtime: 'docker',
      image: 'quay.io/keycloak/keycloak:26.7.4',
      database: { kind: 'dev-file' },
      hostname: 'id.example.com',
      httpPort: pub.httpPort,
      managementPort: pub.managementPort,
      bootstrapAdmin: { username: 'admin', password: { $secret: 'a', value: 'very-secret-admin' } },
    }),
    desiredState,
    installedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    docker: {
      containerName: 'kc',
      image: 'kc:opt',
      slot: 'a',
      backendHttpPort: a.ports.httpPort,
      backendManagementPort: a.ports.managementPort,
      networkMode: 'host',
    },
  });

  it('starts a front for a running docker Keycloak when none serves, leaves a serving one alone, and ignores a stopped one', async () => {
    expect(await KeycloakFront.ensure(stateDir, log)).toBe('no-front');
    await saveInstance(stateDir, record('running'));
    expect(await KeycloakFront.ensure(stateDir, log)).toBe('reopened');
    expect(await get(pub.httpPort)).toBe('a-http');
    expect(await KeycloakFront.ensure(stateDir, log)).toBe('serving');
    // Only the agent's user may steer it: the control socket is a 0600 file in the 0700 state dir.
    expect((await stat(frontControl.socketPath(stateDir))).mode & 0o777).toBe(0o600);

    // A front killed outright leaves its socket file behind; the next one must not trip over it.
    const lines = (await readFile(join(stateDir, 'keycloak-front.log'), 'utf8')).split('\n');
    process.kill((JSON.parse(lines.filter((l) => l.includes('front control listening')).at(-1)!) as { pid: number }).pid, 'SIGKILL');
    await expect
      .poll(() =>
        get(pub.httpPort).then(
          () => 'up',
          () => 'down',
        ),
      )
      .toBe('down');
    expect(await KeycloakFront.ensure(stateDir, log)).toBe('reopened');
    expect(await get(pub.httpPort)).toBe('a-http');

    await KeycloakFront.for(stateDir, log).close();
    await saveInstance(stateDir, record('stopped'));
    expect(await KeycloakFront.ensure(stateDir, log)).toBe('no-front');
    await expect(get(pub.httpPort)).rejects.toThrow();
  });

  it('does the same for a process-runtime Keycloak behind a front, but not for one that listens on its public ports itself', async () => {
    const docker = record('running');
    const processRecord = (withBackends: boolean): KeycloakInstanceRecord => ({
      ...docker,
      runtime: 'process',
      docker: undefined,
      process: {
        installDir: '/opt/kc/26.7.4-abc-a',
        supervisor: 'child',
        javaHome: '/jdk',
        ...(withBackends ? { slot: 'a' as const, backendHttpPort: a.ports.httpPort, backendManagementPort: a.ports.managementPort } : {}),
      },
    });
    await saveInstance(stateDir, processRecord(false));
    expect(await KeycloakFront.ensure(stateDir, log)).toBe('no-front');
    await saveInstance(stateDir, processRecord(true));
    expect(await KeycloakFront.ensure(stateDir, log)).toBe('reopened');
    expect(await get(pub.managementPort)).toBe('a-management');
    await KeycloakFront.for(stateDir, log).close();
  });
});
