import type { X509Certificate } from 'node:crypto';
import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';

export type CertificateFacts = z.input<(typeof taskDefinitions)['tls.probe']['output']>['served'];

/** The facts the hub records about a certificate, as node:crypto reads them from its DER or PEM. */
export function certificateFacts(cert: X509Certificate): CertificateFacts {
  const domains = (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return {
    serial: cert.serialNumber.toUpperCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    // Certificates from current CAs may have an empty subject (names only in the SAN): node then has none.
    subject: (cert.subject ?? '').replace(/\n/g, ', '),
    issuer: (cert.issuer ?? '').replace(/\n/g, ', '),
    domains,
    fingerprint256: cert.fingerprint256,
  };
}
