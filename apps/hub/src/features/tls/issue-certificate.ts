import acme from 'acme-client';
import type { Selectable } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import type { RenewalPlan } from './certificate-issuer.js';
import { certificateIssuerFor } from './certificate-issuer-for.js';
import type { CertificatesTable } from './certificates-tables.js';
import { renewalTime } from './renewal-time.js';
import { runHostTask } from './run-host-task.js';

export type CertificateRow = Selectable<CertificatesTable>;

export interface IssuedCertificate {
  certificatePem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  servedSerial: string;
  servedNotAfter: Date;
  /** The ARI id of the certificate the CA was told this one replaces. */
  replaces?: string;
  renewal: RenewalPlan;
}

/**
 * One issuance (first or renewal) of a certificate for its host, end to end: the host makes a
 * key and a CSR, the row's issuer signs it (an ACME CA after its challenges, or the hub's own CA),
 * the host installs it and proves with a handshake that it is served, and the issuer says when to
 * renew. Any failure throws before the old certificate is touched, or (install) is refused by the
 * host with the old one still served.
 */
export async function issueCertificate(deps: ApiDeps, cert: CertificateRow, signal?: AbortSignal): Promise<IssuedCertificate> {
  const host = { db: deps.db, dispatcher: deps.dispatcher };
  const issuer = await certificateIssuerFor(deps, cert);
  await issuer.admit?.(signal);
  const csr = await runHostTask(host, cert.host_id, 'tls.csr', { certificateId: cert.id, domains: cert.domains, keyType: cert.key_type }, { signal });
  const issued = await issuer.issue({ csrPem: csr.csrPem, domains: cert.domains, replacesPem: cert.certificate_pem ?? undefined, signal });
  const info = acme.crypto.readCertificateInfo(issued.certificatePem);
  const installed = await runHostTask(
    host,
    cert.host_id,
    'tls.install',
    { certificateId: cert.id, certificatePem: issued.certificatePem, httpsPort: cert.https_port, reloadPeriod: cert.reload_period },
    { signal },
  );
  return {
    certificatePem: issued.certificatePem,
    serial: installed.installed.serial,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    servedSerial: installed.served.serial,
    servedNotAfter: new Date(installed.served.notAfter),
    ...(issued.replaces ? { replaces: issued.replaces } : {}),
    // The certificate is served: a CA whose renewal information fails now must not undo that.
    renewal: await issuer.planRenewal(issued.certificatePem, signal).catch(() => ({ at: renewalTime(info.notBefore, info.notAfter) })),
  };
}
