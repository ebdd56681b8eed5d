import type { RevocationReason } from './revocation-reason.js';

/** What an issuer needs for one certificate: the host's CSR and the names it may carry. */
export interface IssueRequest {
  csrPem: string;
  /** The names the certificate is for, as the row holds them (a CSR asking for more gets none of them). */
  domains: string[];
  /** The certificate this one replaces (a renewal), so an ACME CA with ARI can link them. */
  replacesPem?: string;
  signal?: AbortSignal;
}

/** When to renew a certificate, and why then. */
export interface RenewalPlan {
  at: Date;
  /** The CA's suggested window (ACME Renewal Information), when it offers one. */
  window?: { start: Date; end: Date };
  /** When to ask the CA again whether its window moved (its Retry-After). */
  recheckAt?: Date;
}

/**
 * Who signs a host's CSR: an ACME CA (HTTP-01 or DNS-01 challenges), or the hub's own CA. The
 * scheduler and the routes see only this, so a new kind of issuer is one more implementation.
 */
export interface CertificateIssuer {
  /**
   * Called before the host makes a key: throws (OrderBudgetSpent) when the CA's order budget is
   * spent, so a queued issuance costs neither the host nor the CA anything.
   */
  admit?(signal?: AbortSignal): Promise<void>;
  /** The chain, leaf first. */
  issue(req: IssueRequest): Promise<{ certificatePem: string /** The ARI id of the certificate the CA was told this one replaces. */; replaces?: string }>;
  /** When `certificatePem` (leaf first) should be renewed. */
  planRenewal(certificatePem: string, signal?: AbortSignal): Promise<RenewalPlan>;
  /**
   * Tells the CA that `certificatePem` (leaf first) is revoked; throws with the CA's reason when
   * it refuses. The hub's own CA has nobody to tell: its CRL is made from the hub's records.
   */
  revoke(certificatePem: string, reason: RevocationReason, signal?: AbortSignal): Promise<void>;
}
