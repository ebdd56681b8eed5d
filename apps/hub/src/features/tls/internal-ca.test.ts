import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretStore } from '../../secrets/secret-store.js';
import { InternalCa } from './internal-ca.js';

const run = promisify(execFile);

/** The secret store's two calls the CA makes, in memory (the sealed, database-backed store is in certificates-routes.test.ts). */
function memorySecrets(): Pick<SecretStore, 'reveal' | 'put'> & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    async reveal(names) {
      const found = new Map([...names].filter((n) => values.has(n)).map((n) => [n, values.get(n)!]));
      return { values: found, problems: new Map() };
    },
    async put(name, value) {
      values.set(name, value);
      return { name, createdAt: new Date(), updatedAt: new Date(), updatedBy: 'tls', created: true };
    },
  };
}

describe('the hub’s internal CA', () => {
  const secrets = memorySecrets();
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-internal-ca-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('signs a host’s CSR for the record’s names; the chain verifies with openssl and node against the trust bundle', async () => {
    const ca = new InternalCa(secrets);
    const [key, csr] = await acme.crypto.createCsr({ commonName: 'id.lab.test', altNames: ['id.lab.test', 'extra.lab.test'] });
    const { certificatePem } = await ca.issue({ csrPem: csr.toString(), domains: ['id.lab.test'] });
    const bundle = await ca.trustBundle();

    const [leafPem] = certificatePem.split(/(?<=-----END CERTIFICATE-----\n)/);
    const leaf = new X509Certificate(leafPem!);
    const root = new X509Certificate(bundle);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(key))).toBe(true);
    // The names come from the hub's record, not from what the CSR asked for.
    expect(leaf.subjectAltName).toBe('DNS:id.lab.test');
    expect(leaf.checkHost('id.lab.test')).toBe('id.lab.test');
    expect(leaf.ca).toBe(false);
    expect(root.ca).toBe(true);
    expect(Date.parse(leaf.validTo) - Date.now()).toBeGreaterThan(89 * 86_400_000);

    await writeFile(join(dir, 'ca.pem'), bundle);
    await writeFile(join(dir, 'chain.pem'), certificatePem);
    const verified = await run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), '-purpose', 'sslserver', join(dir, 'chain.pem')]);
    expect(verified.stdout.trim()).toBe(`${join(dir, 'chain.pem')}: OK`);

    // Renewal at 2/3 of the lifetime, as for any issuer without ARI.
    const plan = await ca.planRenewal(certificatePem);
    const life = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
    expect(plan.at.getTime()).toBe(Date.parse(leaf.validFrom) + Math.floor((life * 2) / 3));
  });

  it('keeps one CA across instances (and so across hubs): made once, then loaded from the secret store', async () => {
    const first = await new InternalCa(secrets).trustBundle();
    expect(await new InternalCa(secrets).trustBundle()).toBe(first);
    expect([...secrets.values.keys()]).toEqual(['tls.internal-ca']);
  });

  it('refuses a CSR whose signature does not verify', async () => {
    const [, csr] = await acme.crypto.createCsr({ commonName: 'a.lab.test' });
    const der = Buffer.from(csr.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] = der[der.length - 5]! ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(new InternalCa(secrets).issue({ csrPem: tampered, domains: ['a.lab.test'] })).rejects.toThrow(/signature does not verify/);
  });
});
