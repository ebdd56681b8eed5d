/**
 * Why a certificate is revoked: the RFC 5280 reason codes an ACME CA accepts from a subscriber
 * (Let's Encrypt's list; RFC 8555 7.6), by name, with the code sent to the CA and written in the
 * internal CA's CRL.
 */
export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;

export type RevocationReason = keyof typeof revocationReasons;

export const revocationReasonNames = Object.keys(revocationReasons) as [RevocationReason, ...RevocationReason[]];
