import { z } from '@hono/zod-openapi';
import type { Selectable } from 'kysely';
import type { CertificatesTable } from './certificates-tables.js';
import { DnsProviderSchema } from './dns-provider-schema.js';
import { type RevocationReason, revocationReasonNames } from './revocation-reason.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const CertificateSchema = z
  .object({
    id: z.string(),
    hostId: z.string(),
    hostname: z.string(),
    domains: z.array(z.string()),
    issuer: z.discriminatedUnion('kind', [z.object({ kind: z.literal('acme'), directoryUrl: z.string() }), z.object({ kind: z.literal('internal') })]),
    challenge: z.enum(['http-01', 'dns-01', 'none']).openapi({ description: 'How the CA checks the names; none for the internal CA' }),
    dns: DnsProviderSchema.nullable().openapi({ description: 'DNS-01: where the challenge records go' }),
    keyType: z.enum(['ecdsa-p256', 'rsa-2048']),
    state: z.enum(['pending', 'issuing', 'valid', 'failed', 'revoked']).openapi({ description: 'revoked: no renewals or retries (renew issues a new one)' }),
    serial: z.string().nullable(),
    notBefore: z.string().nullable(),
    notAfter: z.string().nullable(),
    servedSerial: z.string().nullable().openapi({ description: 'What the last handshake on the host’s HTTPS port presented' }),
    servedNotAfter: z.string().nullable(),
    servedCheckedAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable().openapi({ description: 'Next issuance: the renewal time, or the retry after a failure' }),
    renewalWindow: z
      .object({ start: z.string(), end: z.string() })
      .nullable()
      .openapi({ description: 'The CA’s suggested renewal window (ACME Renewal Information) the renewal time was drawn from' }),
    renewalCheckAt: z.string().nullable().openapi({ description: 'When the hub asks the CA again whether its window moved (its Retry-After)' }),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    lastIssuedMs: z.number().int().nullable(),
    httpsPort: z.number().int(),
    revokedAt: z.string().nullable(),
    revocationReason: z.enum(revocationReasonNames).nullable(),
    requestedByConfig: z.boolean().openapi({ description: 'Asked for by the host’s Keycloak config (`tls.certificate` of keycloak.install/update)' }),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .openapi('Certificate');

export type CertificateView = z.infer<typeof CertificateSchema>;

export function certificateView(r: Selectable<CertificatesTable> & { hostname: string }): CertificateView {
  return {
    id: r.id,
    hostId: r.host_id,
    hostname: r.hostname,
    domains: r.domains,
    issuer: r.issuer,
    challenge: r.challenge,
    dns: r.dns,
    keyType: r.key_type,
    state: r.state,
    serial: r.serial,
    notBefore: iso(r.not_before),
    notAfter: iso(r.not_after),
    servedSerial: r.served_serial,
    servedNotAfter: iso(r.served_not_after),
    servedCheckedAt: iso(r.served_checked_at),
    nextAttemptAt: iso(r.next_attempt_at),
    renewalWindow:
      r.renewal_window_start && r.renewal_window_end ? { start: r.renewal_window_start.toISOString(), end: r.renewal_window_end.toISOString() } : null,
    renewalCheckAt: iso(r.renewal_check_at),
    attempts: r.attempts,
    lastError: r.last_error,
    lastIssuedMs: r.last_issued_ms,
    httpsPort: r.https_port,
    revokedAt: iso(r.revoked_at),
    revocationReason: r.revocation_reason as RevocationReason | null,
    requestedByConfig: r.requested_by_config,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
  };
}
