import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { frontChallenges, installedInstance, serveCertificate } from '../keycloak/index.js';
import type { TaskHandler } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { writeFileAtomic } from '../../write-file-atomic.js';
import { certificateFacts } from './certificate-facts.js';
import { ChallengeResponder } from './challenge-responder.js';
import { probeCertificate } from './probe-certificate.js';
import { privateDir, tlsPaths } from './tls-paths.js';

async function readKey(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/**
 * Installs a certificate for the key `tls.csr` made here, then proves it is served: a TLS
 * handshake on the public HTTPS port must present this very certificate. Refuses a certificate
 * whose key is not the host's before touching anything. Keycloak is not restarted (see
 * serveCertificate for the one exception).
 */
export const tlsInstall: TaskHandler<'tls.install'> = async (input, ctx) => {
  // A host without Keycloak is the caller's mistake, refused before anything is written.
  await installedInstance(ctx.stateDir);
  // Loaded when a certificate arrives, not at start: acme-client and its HTTP client cost the idle agent ~4 MB.
  const { default: acme } = await import('acme-client');
  const chain = acme.crypto.splitPemChain(input.certificatePem);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0] ?? '');
  } catch (err) {
    throw new TaskFailure('invalid_input', `the certificate is not a readable PEM certificate: ${(err as Error).message}`);
  }
  const pendingPath = tlsPaths.pendingKey(ctx.stateDir, input.certificateId);
  const keyPem = (await readKey(pendingPath)) ?? (await readKey(tlsPaths.key(ctx.stateDir)));
  if (!keyPem) throw new TaskFailure('invalid_input', `no key for certificate ${input.certificateId} on this host (run tls.csr first)`);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new TaskFailure('invalid_input', 'the certificate is not for the key generated on this host; refused, nothing installed');
  }
  if (Date.parse(leaf.validTo) <= Date.now()) throw new TaskFailure('invalid_input', `the certificate expired on ${new Date(leaf.validTo).toISOString()}`);
  const installed = certificateFacts(leaf);

  await privateDir(tlsPaths.keycloakDir(ctx.stateDir));
  const certificateFile = tlsPaths.certificate(ctx.stateDir);
  const certificateKeyFile = tlsPaths.key(ctx.stateDir);
  // Key first: a reload between the two writes then pairs the old certificate with the new key,
  // which Keycloak rejects and keeps serving the old pair, instead of a torn pair being served.
  await writeFileAtomic(certificateKeyFile, keyPem, 0o600);
  await writeFileAtomic(certificateFile, `${chain.join('\n').trim()}\n`, 0o600);
  const written = Date.now();

  const { restarted, servedWithinMs } = await serveCertificate(
    ctx.stateDir,
    { httpsPort: input.httpsPort, certificateFile, certificateKeyFile, reloadPeriod: input.reloadPeriod },
    { signal: ctx.signal, log: ctx.log, note: (step: string) => ctx.progress(undefined, step) },
  );

  // Wait for the handshake on the public port to show the new certificate, and fail if it does
  // not: "renewed but still serving the old one" is the outage.
  const deadline = written + servedWithinMs + 30_000;
  // SNI with a name the certificate covers; a wildcard is not a host name, one label under it is.
  const servername = installed.domains.find((d) => !d.startsWith('*.')) ?? installed.domains[0]?.replace(/^\*\./, 'keyfleet-probe.');
  let lastSeen = 'nothing yet';
  for (;;) {
    ctx.signal.throwIfAborted();
    try {
      const { facts } = await probeCertificate({ host: '127.0.0.1', port: input.httpsPort, servername, signal: ctx.signal });
      if (facts.fingerprint256 === installed.fingerprint256) {
        await rm(dirname(pendingPath), { recursive: true, force: true });
        ChallengeResponder.forget(input.certificateId);
        await frontChallenges.forget(ctx.stateDir, input.certificateId);
        return { installed, served: facts, restarted, servedAfterSec: (Date.now() - written) / 1000 };
      }
      lastSeen = `serial ${facts.serial}`;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      lastSeen = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new TaskFailure(
        'handler_error',
        `installed certificate serial ${installed.serial}, but port ${input.httpsPort} still presents ${lastSeen} after ${Math.round((Date.now() - written) / 1000)}s`,
      );
    }
    ctx.progress(undefined, `waiting for Keycloak to serve serial ${installed.serial} (now: ${lastSeen})`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
};
