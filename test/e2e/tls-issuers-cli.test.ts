import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AgentProcess, expectStatus, type Fleet, repoRoot, startFleet } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './run-cli.js';

const run = promisify(execFile);

describe('keyfleet certs: issuer and DNS-01 flags, the internal CA through a real agent, the trust bundle', () => {
  const started = Date.now();
  let fleet: Fleet;
  let agent: AgentProcess;
  let dir: string;
  const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
  const issue = (...args: string[]) => cli('certs', 'issue', '--target', agent.hostId, '--domain', 'id.lab.test', ...args);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-certs-cli-'));
    fleet = await startFleet({ hubEnv: { KEYFLEET_CERT_SCAN_MS: '500' } });
    agent = await fleet.addAgent();
    await vi.waitFor(async () => expect((await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: agent.hostId } }), 200)).status).toBe('online'), {
      timeout: 60_000,
      interval: 250,
    });
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(`[tls-issuers-cli] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  });

  it('refuses flag combinations that cannot work: the hub’s 400 reason (all cases: certificates-routes.test.ts), or exit 2 before asking', async () => {
    const noProvider = await issue('--challenge', 'dns-01');
    expect(noProvider.status).not.toBe(0);
    expect(noProvider.stderr).toContain('challenge dns-01 needs dns');
    const missingTsig = await issue('--dns-provider', 'rfc2136', '--dns-server', '127.0.0.1:53');
    expect(missingTsig.status).toBe(2);
    expect(missingTsig.stderr).toContain('--dns-provider rfc2136 needs --tsig-key-name, --tsig-secret');
  });

  it('records a DNS-01 certificate by RFC 2136 with its TSIG secret by name', async () => {
    await writeFile(join(dir, 'tsig'), `${Buffer.alloc(32, 3).toString('base64')}\n`);
    expect((await cli('secrets', 'set', 'tsig-lab', '--from-file', join(dir, 'tsig'))).status).toBe(0);
    const r = await issue(
      '--dns-provider',
      'rfc2136',
      '--dns-server',
      '127.0.0.1:5353',
      '--tsig-key-name',
      'kf',
      '--tsig-secret',
      'tsig-lab',
      '--ca',
      'https://127.0.0.1:1/dir',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/challenge:\s+dns-01 via rfc2136 127\.0\.0\.1:5353/);
    const id = /crt_[A-Za-z0-9_-]+/.exec(r.stdout)![0];
    // Its CA does not exist: stop it before the scheduler's retries add noise (409 while an attempt runs).
    const remove = () => fetch(`${fleet.hub.url}/v1/certificates/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${fleet.hub.adminToken}` } });
    await vi.waitFor(async () => expect((await remove()).status).toBe(200), { timeout: 60_000, interval: 250 });
  });

  it('the internal CA signs the agent’s CSR; the trust bundle verifies it (the install is refused: this host has no Keycloak)', async () => {
    const r = await issue('--issuer', 'internal', '--wait', '--output', 'json');
    // No Keycloak on this host, so tls.install refuses: everything before it ran for real.
    expect(r.status).toBe(1);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ issuer: { kind: 'internal' }, challenge: 'none', state: 'failed' });
    expect(c.lastError).toMatch(/tls\.install on the host failed/);

    const out = join(dir, 'ca.pem');
    const bundle = await cli('certs', 'trust-bundle', '--out', out);
    expect(bundle.status, bundle.stderr).toBe(0);
    expect(bundle.stdout).toMatch(/subject:\s+CN=Keyfleet internal CA/);
    const pem = await readFile(out, 'utf8');
    expect((await cli('certs', 'trust-bundle')).stdout).toBe(pem);
    expect(new X509Certificate(pem).ca).toBe(true);
    const text = await run('openssl', ['x509', '-in', out, '-noout', '-subject']);
    expect(text.stdout).toContain('Keyfleet internal CA');
  });
});
