import acme from 'acme-client';
import type { Selectable } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { acmeClient } from './acme-account.js';
import type { CertificatesTable } from './certificates-tables.js';
import { runHostTask } from './run-host-task.js';

export type CertificateRow = Selectable<CertificatesTable>;

export interface IssuedCertificate {
  certificatePem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  servedSerial: string;
  servedNotAfter: Date;
}

/**
 * A CA that is down makes acme-client fail with an internal TypeError after its retries; asking
 * the directory first turns that into a reason an operator can act on.
 */
async function requireDirectory(url: string, signal?: AbortSignal): Promise<void> {
  try {
    const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000) });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`the ACME directory ${url} is unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
}

/** How long a challenge listener on the host stays up: long enough for a slow CA, short enough to be gone soon after. */
const CHALLENGE_TTL_SEC = 300;

/**
 * One issuance (first or renewal) of a certificate for its host, end to end: the host makes a
 * key and a CSR, answers the CA's HTTP-01 challenges from a short-lived listener, installs the
 * certificate and proves with a handshake that it is served. Any failure throws before the old
 * certificate is touched, or (install) is refused by the host with the old one still served.
 */
export async function issueCertificate(deps: ApiDeps, cert: CertificateRow, signal?: AbortSignal): Promise<IssuedCertificate> {
  if (cert.issuer.kind !== 'acme') throw new Error(`issuer ${cert.issuer.kind} is not supported yet`);
  const host = { db: deps.db, dispatcher: deps.dispatcher };
  const csr = await runHostTask(host, cert.host_id, 'tls.csr', { certificateId: cert.id, domains: cert.domains, keyType: cert.key_type }, { signal });

  await requireDirectory(cert.issuer.directoryUrl, signal);
  const client = await acmeClient(deps.secrets, cert.issuer.directoryUrl);
  const order = await client.createOrder({ identifiers: cert.domains.map((value) => ({ type: 'dns' as const, value })) });
  const authorizations = await client.getAuthorizations(order);
  for (const authz of authorizations) {
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    if (!challenge) throw new Error(`the CA offers no http-01 challenge for ${authz.identifier.value}`);
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    await runHostTask(
      host,
      cert.host_id,
      'tls.challenge',
      { certificateId: cert.id, token: challenge.token, keyAuthorization, port: cert.http01_port, ttlSec: CHALLENGE_TTL_SEC },
      { signal },
    );
    await client.completeChallenge(challenge);
    try {
      await client.waitForValidStatus(challenge);
    } catch (err) {
      throw new Error(`the CA could not validate ${authz.identifier.value} over HTTP-01 on port ${cert.http01_port}: ${(err as Error).message}`);
    }
  }
  const finalized = await client.finalizeOrder(order, csr.csrPem);
  const certificatePem = await client.getCertificate(finalized);
  const info = acme.crypto.readCertificateInfo(certificatePem);

  const installed = await runHostTask(
    host,
    cert.host_id,
    'tls.install',
    { certificateId: cert.id, certificatePem, httpsPort: cert.https_port, reloadPeriod: cert.reload_period },
    { signal },
  );
  return {
    certificatePem,
    serial: installed.installed.serial,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    servedSerial: installed.served.serial,
    servedNotAfter: new Date(installed.served.notAfter),
  };
}
