import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import acme from 'acme-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testTaskContext } from '../../testing/test-task-context.js';
import { tlsCsr } from './tls-csr.js';
import { tlsPaths } from './tls-paths.js';

describe('tls.csr', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-tls-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('keeps a new P-256 key on the host (0600, 0700 dir) and returns only a CSR for the domains', async () => {
    const out = await tlsCsr({ certificateId: 'crt_1', domains: ['id.example.com', 'sso.example.com'], keyType: 'ecdsa-p256' }, testTaskContext({ stateDir }));
    expect(acme.crypto.readCsrDomains(out.csrPem)).toEqual({ commonName: 'id.example.com', altNames: ['id.example.com', 'sso.example.com'] });
    const keyPath = tlsPaths.pendingKey(stateDir, 'crt_1');
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(stateDir, 'tls'))).mode & 0o777).toBe(0o700);
    const key = await readFile(keyPath, 'utf8');
    expect(key).toContain('BEGIN PRIVATE KEY');
    expect(JSON.stringify(out)).not.toContain(key.split('\n')[1]);
  });

  it('makes an RSA key when asked, and a new key every time', async () => {
    const ctx = testTaskContext({ stateDir });
    const a = await tlsCsr({ certificateId: 'crt_2', domains: ['a.example.com'], keyType: 'rsa-2048' }, ctx);
    const b = await tlsCsr({ certificateId: 'crt_2', domains: ['a.example.com'], keyType: 'rsa-2048' }, ctx);
    expect(a.keyType).toBe('rsa-2048');
    expect(a.publicKeySha256).not.toBe(b.publicKeySha256);
  });
});
