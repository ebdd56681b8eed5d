import { AuthorityKeyIdentifierExtension, X509Certificate } from '@peculiar/x509';

/**
 * The ACME Renewal Information id of a certificate (RFC 9773 4.1): base64url of its Authority
 * Key Identifier's keyIdentifier, a dot, base64url of its serial's DER content bytes (leading
 * zero kept). The same id names the certificate in renewalInfo URLs and in an order's `replaces`.
 */
export function ariCertId(certificatePem: string): string {
  const cert = new X509Certificate(certificatePem);
  const aki = cert.getExtension(AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) throw new Error('the certificate has no Authority Key Identifier, so it has no ARI id');
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${Buffer.from(cert.serialNumber, 'hex').toString('base64url')}`;
}
