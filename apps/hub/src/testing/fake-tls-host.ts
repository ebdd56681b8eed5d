// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import acme from 'acme-client';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';

export interface FakeTlsHost {
  /** Serials installed, in order. */
  installed: string[];
  stop(): Promise<void>;
}

function facts(pem: string) {
  const leaf = new X509Certificate(pem);
  return {
    serial: leaf.serialNumber.toUpperCase(),
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    subject: leaf.subject ?? '',
    issuer: leaf.issuer ?? '',
    domains: (leaf.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, '')),
    fingerprint256: leaf.fingerprint256,
  };
}

/**
 * The host side of the certificate tasks without an agent or a Keycloak: it takes the host's
 * queued `tls.csr` and `tls.install` tasks straight from the database (as if dispatched, run and
 * reported), makes the key and CSR, and "serves" what it installs. For hub tests of issuance and
 * renewal; the agent's own handling of these tasks is tested against a real Keycloak in test/e2e.
 */
export function startFakeTlsHost(db: Kysely<Database>, hostId: string): FakeTlsHost {
  const installed: string[] = [];
  let stopped = false;
  const run = async (type: string, params: Record<string, unknown>) => {
    if (type === 'tls.csr') {
      const domains = params.domains as string[];
      const [key, csr] = await acme.crypto.createCsr({ commonName: domains[0], altNames: domains });
      const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
      return { csrPem: csr.toString(), keyType: 'ecdsa-p256', publicKeySha256: createHash('sha256').update(spki).digest('hex') };
    }
    if (type === 'tls.install') {
      const pem = params.certificatePem as string;
      const f = facts(pem);
      installed.push(f.serial);
      return { installed: f, served: f, restarted: false, servedAfterSec: 0 };
    }
    throw new Error(`the fake TLS host does not do ${type}`);
  };
  const loop = (async () => {
    while (!stopped) {
      const tasks = await db.selectFrom('tasks').select(['id', 'type', 'params']).where('host_id', '=', hostId).where('state', '=', 'queued').execute();
      for (const t of tasks) {
        try {
          const output = await run(t.type, t.params as Record<string, unknown>);
          await db
            .updateTable('tasks')
            .set({ state: 'succeeded', output: JSON.stringify(output), finished_at: new Date() })
            .where('id', '=', t.id)
            .execute();
        } catch (err) {
          await db
            .updateTable('tasks')
            .set({ state: 'failed', error: JSON.stringify({ code: 'failed', message: (err as Error).message }), finished_at: new Date() })
            .where('id', '=', t.id)
            .execute();
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    installed,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
