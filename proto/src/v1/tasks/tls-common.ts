import { z } from 'zod';

/** Certificate ids are minted by the hub (`crt_…`); the agent uses them as directory names. */
export const certificateId = z.string().regex(/^crt_[A-Za-z0-9_-]{1,60}$/, 'a certificate id like crt_…');

/** A DNS name a certificate is for (no wildcard: HTTP-01 cannot prove one). */
export const domainName = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i, 'a DNS name like id.example.com');

/**
 * A name a certificate is for: a DNS name, or a wildcard (`*.example.com`, one leftmost label).
 * Only DNS-01 can prove a wildcard (RFC 8555 8.3); the certificate request's rules refuse the rest.
 */
export const certificateDomain = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
    'a DNS name like id.example.com, or a wildcard like *.example.com',
  );

/** Whether `name` is a wildcard (`*.example.com`). */
export const isWildcard = (name: string) => name.startsWith('*.');

/** What a TLS handshake (or a PEM) says about one certificate. */
export const certificateFacts = z.object({
  /** Upper-case hex, as `openssl x509 -serial` prints it. */
  serial: z.string(),
  notBefore: z.iso.datetime(),
  notAfter: z.iso.datetime(),
  subject: z.string(),
  issuer: z.string(),
  /** DNS names of the subjectAltName. */
  domains: z.array(z.string()),
  fingerprint256: z.string(),
});

/** "serial 0A1B…, valid until 2026-03-01" for tables. */
export function describeCertificate(c: z.output<typeof certificateFacts>): string {
  return `serial ${c.serial.slice(0, 16)}${c.serial.length > 16 ? '…' : ''}, valid until ${c.notAfter.slice(0, 10)}`;
}

const UNIT_SEC = { s: 1, m: 60, h: 3600 } as const;

/** Keycloak's https-certificates-reload-period, which it refuses at 30 s or less. */
export const reloadPeriod = z
  .string()
  .regex(/^\d+[smh]$/, 'a duration like 45s, 1m or 1h')
  .refine((v) => Number(v.slice(0, -1)) * UNIT_SEC[v.slice(-1) as keyof typeof UNIT_SEC] > 30, 'Keycloak needs a reload period above 30s');
