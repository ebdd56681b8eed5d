import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../runtime/free-port.js';
import { verifyFailure } from './verify-failure.js';
import { verifyKeycloak } from './verify-keycloak.js';

const run = promisify(execFile);

// Real Keycloak is verified in test/e2e; here the edge cases that need no Keycloak.
describe('verifyKeycloak', () => {
  it('fails every check with "connection refused" when nothing listens, and says so in one line', async () => {
    const [http, mgmt] = [await freePort(), await freePort()];
    const report = await verifyKeycloak(
      { baseUrl: `http://127.0.0.1:${http}`, managementUrl: `http://127.0.0.1:${mgmt}`, hostname: 'id.example.com', adminUser: 'admin', adminPassword: 'pw' },
      undefined,
      new AbortController().signal,
    );
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'health')).toMatchObject({ ok: false, detail: `connection refused to http://127.0.0.1:${mgmt}/health/ready` });
    expect(report.checks.find((c) => c.name === 'tls')).toMatchObject({ ok: true, detail: 'TLS not enabled' });
    expect(report.checks.find((c) => c.name === 'login')).toMatchObject({ ok: true, detail: 'no login configured' });
    expect(verifyFailure(report)).toMatch(
      new RegExp(
        `^Keycloak verification failed \\(4 of 6 checks\\): health: connection refused to http://127\\.0\\.0\\.1:${mgmt}/health/ready; discovery: .*\\. Passed: tls, login$`,
      ),
    );
  });

  describe('TLS check', () => {
    let dir: string;
    let server: Server;
    let port: number;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kf-tls-'));
      // Self-signed, for a name other than the one the check connects to.
      await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=other.example',
        '-addext',
        'subjectAltName=DNS:other.example',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]);
      port = await freePort();
      server = createServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (_req, res) => res.end());
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    });

    it('checks the certificate of an https hostname: trust and name match', async () => {
      const [http, mgmt] = [await freePort(), await freePort()];
      const report = await verifyKeycloak(
        {
          baseUrl: `http://127.0.0.1:${http}`,
          managementUrl: `http://127.0.0.1:${mgmt}`,
          hostname: `https://localhost:${port}`,
          adminUser: 'a',
          adminPassword: 'p',
        },
        undefined,
        new AbortController().signal,
      );
      const tls = report.checks.find((c) => c.name === 'tls')!;
      expect(tls.ok).toBe(false);
      expect(tls.detail).toMatch(
        new RegExp(
          `^certificate of localhost:${port}: .*localhost.* (is not in the cert's altnames|not in).*; not trusted: (DEPTH_ZERO_SELF_SIGNED_CERT|self.signed)`,
          'i',
        ),
      );
    });
  });
});
