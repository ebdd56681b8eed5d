import { z } from '@hono/zod-openapi';
import type { Selectable } from 'kysely';
import type { CertificatesTable } from './certificates-tables.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const CertificateSchema = z
  .object({
    id: z.string(),
    hostId: z.string(),
    hostname: z.string(),
    domains: z.array(z.string()),
    issuer: z.discriminatedUnion('kind', [z.object({ kind: z.literal('acme'), directoryUrl: z.string() }), z.object({ kind: z.literal('internal') })]),
    challenge: z.literal('http-01'),
    keyType: z.enum(['ecdsa-p256', 'rsa-2048']),
    state: z.enum(['pending', 'issuing', 'valid', 'failed']),
    serial: z.string().nullable(),
    notBefore: z.string().nullable(),
    notAfter: z.string().nullable(),
    servedSerial: z.string().nullable().openapi({ description: 'What the last handshake on the host’s HTTPS port presented' }),
    servedNotAfter: z.string().nullable(),
    servedCheckedAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable().openapi({ description: 'Next issuance: the renewal time, or the retry after a failure' }),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    lastIssuedMs: z.number().int().nullable(),
    httpsPort: z.number().int(),
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
    keyType: r.key_type,
    state: r.state,
    serial: r.serial,
    notBefore: iso(r.not_before),
    notAfter: iso(r.not_after),
    servedSerial: r.served_serial,
    servedNotAfter: iso(r.served_not_after),
    servedCheckedAt: iso(r.served_checked_at),
    nextAttemptAt: iso(r.next_attempt_at),
    attempts: r.attempts,
    lastError: r.last_error,
    lastIssuedMs: r.last_issued_ms,
    httpsPort: r.https_port,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
  };
}
