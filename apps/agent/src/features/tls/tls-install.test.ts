import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, createServer, type Server } from 'node:tls';
import { promisify } from 'node:util';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { saveInstance, type KeycloakInstanceRecord } from '../keycloak/index.js';
import { testTaskContext } from '../../testing/test-task-context.js';
import { tlsCsr } from './tls-csr.js';
import { tlsInstall } from './tls-install.js';
import { tlsPaths } from './tls-paths.js';
import { testPort } from '@keyfleet/test-harness';

const run = promisify(execFile);

/** A certificate for `csr` signed by a throwaway CA (openssl), as a CA would return it. */
async function sign(dir: string, csrPem: string, names = ['localhost']): Promise<string> {
  const p = (n: string) => join(dir, n);
  await writeFile(p('req.csr'), csrPem);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
  ]);
  await writeFile(p('ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    p('req.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    p('ext'),
    '-out',
    p('leaf.pem'),
  ]);
  return readFileSync(p('leaf.pem'), 'utf8');
}

describe('tls.install', () => {
  let stateDir: string;
  let server: Server | undefined;
  let httpsPort: number;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-tls-'));
    httpsPort = testPort();
    const tls = { httpsPort, certificateFile: tlsPaths.certificate(stateDir), certificateKeyFile: tlsPaths.key(stateDir), reloadPeriod: '31s' };
    const record = {
      runtime: 'process',
      version: '26.7.4',
      baseUrl: 'http://127.0.0.1:8080',
      managementUrl: 'http://127.0.0.1:9000',
      hostname: 'https://localhost',
      httpPort: 8080,
      managementPort: 9000,
      adminUser: 'admin',
      adminPassword: 'x',
      configHash: 'abc',
      // HTTPS already on, so the install below reloads rather than restarts.
      config: keycloakConfig.parse({
        version: '26.7.4',
        runtime: 'process',
        distUrl: '/x.tar.gz',
        database: { kind: 'dev-file' },
        hostname: 'https://localhost',
        bootstrapAdmin: { username: 'admin', password: { $secret: 'a', value: 'x' } },
        tls,
      }),
      desiredState: 'running',
      installedAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      process: { installDir: '/x', supervisor: 'child', javaHome: '/jdk' },
    } satisfies KeycloakInstanceRecord;
    await saveInstance(stateDir, record);
  });

  afterEach(async () => {
    server?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('installs a certificate for the host’s key 0600 and returns what the handshake showed', async () => {
    const ctx = testTaskContext({ stateDir });
    const csr = await tlsCsr({ certificateId: 'crt_ok', domains: ['localhost'], keyType: 'ecdsa-p256' }, ctx);
    const certificatePem = await sign(stateDir, csr.csrPem);
    // Stands in for Keycloak: reads the PEM files on every handshake, as a reload would.
    server = createServer({
      SNICallback: (_name, cb) =>
        cb(null, createSecureContext({ cert: readFileSync(tlsPaths.certificate(stateDir)), key: readFileSync(tlsPaths.key(stateDir)) })),
    });
    await new Promise<void>((r) => server!.listen(httpsPort, '127.0.0.1', () => r()));
    const out = await tlsInstall({ certificateId: 'crt_ok', certificatePem, httpsPort, reloadPeriod: '31s' }, ctx);
    expect(out.restarted).toBe(false);
    expect(out.served.serial).toBe(out.installed.serial);
    expect(out.served.domains).toEqual(['localhost']);
    // The pending key moved into Keycloak's file; nothing is left in the pending slot.
    await expect(readdir(join(stateDir, 'tls', 'crt_ok'))).rejects.toThrow();
  });

  it('refuses a certificate whose key is not the host’s, before writing anything', async () => {
    const ctx = testTaskContext({ stateDir });
    await tlsCsr({ certificateId: 'crt_bad', domains: ['localhost'], keyType: 'ecdsa-p256' }, ctx);
    const other = await tlsCsr({ certificateId: 'crt_other', domains: ['localhost'], keyType: 'ecdsa-p256' }, ctx);
    const foreign = await sign(stateDir, other.csrPem);
    await expect(tlsInstall({ certificateId: 'crt_bad', certificatePem: foreign, httpsPort, reloadPeriod: '31s' }, ctx)).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/not for the key generated on this host; refused/),
    });
    await expect(readdir(tlsPaths.keycloakDir(stateDir))).rejects.toThrow();
  });

  it('installs a wildcard certificate and proves it served with a name under it (a wildcard is no SNI name)', async () => {
    const ctx = testTaskContext({ stateDir });
    const csr = await tlsCsr({ certificateId: 'crt_wild', domains: ['*.example.test'], keyType: 'ecdsa-p256' }, ctx);
    const certificatePem = await sign(stateDir, csr.csrPem, ['*.example.test']);
    const names: string[] = [];
    server = createServer({
      SNICallback: (name, cb) => {
        names.push(name);
        cb(null, createSecureContext({ cert: readFileSync(tlsPaths.certificate(stateDir)), key: readFileSync(tlsPaths.key(stateDir)) }));
      },
    });
    await new Promise<void>((r) => server!.listen(httpsPort, '127.0.0.1', () => r()));
    const out = await tlsInstall({ certificateId: 'crt_wild', certificatePem, httpsPort, reloadPeriod: '31s' }, ctx);
    expect(out.served.domains).toEqual(['*.example.test']);
    expect(out.served.serial).toBe(out.installed.serial);
    expect(names).toContain('keyfleet-probe.example.test');
  });
});
