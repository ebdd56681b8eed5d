import { z } from 'zod';
import { certificateDomain, domainName, isWildcard } from './tls-common.js';

/** The choices of a certificate request that must fit together, whatever shape carries them. */
export interface CertificateRequestChoices {
  domains: readonly string[];
  issuer?: 'acme' | 'internal';
  challenge?: 'http-01' | 'dns-01';
  dns?: { provider: string } | null;
  ca?: string;
}

/**
 * Why a certificate request cannot work, or undefined when it can. The one statement of these
 * rules: `POST /v1/certificates` answers 400 with it, and `keycloak.install`'s `tls.certificate`
 * (below) refines with it, so both refuse the same requests with the same words.
 */
export function certificateRequestProblem(r: CertificateRequestChoices): string | undefined {
  if (r.issuer === 'internal') {
    const extra = (['ca', 'challenge', 'dns'] as const).filter((k) => r[k] !== undefined && r[k] !== null);
    return extra.length > 0 ? `the internal CA signs without an ACME CA or a challenge: drop ${extra.join(', ')}` : undefined;
  }
  const challenge = r.challenge ?? (r.dns ? 'dns-01' : 'http-01');
  if (challenge === 'http-01' && r.dns) return 'dns is for challenge dns-01; drop it or ask for challenge dns-01';
  if (challenge === 'dns-01' && !r.dns)
    return "challenge dns-01 needs dns: { provider: 'rfc2136', server, keyName, <its TSIG secret> } or { provider: 'hook' }";
  const wildcards = r.domains.filter(isWildcard);
  // RFC 8555 7.1.3/8.3: a CA offers only dns-01 for a wildcard; asking for http-01 would fail at the CA after the host made a key.
  if (challenge === 'http-01' && wildcards.length > 0)
    return `${wildcards.join(', ')}: a wildcard name can only be proved with DNS-01; ask for challenge dns-01 with dns: { provider: … }`;
  return undefined;
}

const secretName = z.string().regex(/^[a-zA-Z0-9._-]{1,128}$/, 'secret names are 1-128 chars of [a-zA-Z0-9._-]');

/**
 * Where DNS-01 records go, as a Keycloak config names it. The TSIG key is named (`tsigSecret`, a
 * secret in the hub's store), not a `{ $secret }` reference: the hub fills references into the
 * task it sends to the host, and a host must never hold a key that can rewrite the fleet's DNS.
 */
const installDns = z.discriminatedUnion('provider', [
  z
    .object({
      provider: z.literal('rfc2136'),
      /** host, host:port or [v6]:port of the primary that accepts RFC 2136 updates (port 53 when absent). */
      server: z
        .string()
        .max(300)
        .regex(/^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/, 'host, host:port or [v6]:port of the primary DNS server'),
      zone: domainName.optional(),
      keyName: domainName,
      algorithm: z.enum(['hmac-sha256', 'hmac-sha384', 'hmac-sha512']).default('hmac-sha256'),
      /** Name of the hub secret holding the base64 TSIG secret (`keyfleet secrets set`); read by the hub only. */
      tsigSecret: secretName,
    })
    .strict(),
  /** The hub's KEYFLEET_DNS01_HOOK command publishes the record. */
  z.object({ provider: z.literal('hook') }).strict(),
]);

/**
 * A certificate asked for with the Keycloak (`tls.certificate` of keycloak.install/update): once
 * the install succeeds the hub issues it (key made on the host, an ACME CA or the hub's CA),
 * installs it on the public HTTPS port and renews it, exactly as `POST /v1/certificates` would.
 * The agent does not act on it.
 */
export const certificateRequest = z
  .object({
    domains: z.array(certificateDomain).min(1).max(100),
    /** acme: an ACME CA (`ca`); internal: the hub's own CA (labs, air-gapped fleets). */
    issuer: z.enum(['acme', 'internal']).default('acme'),
    /** ACME only: http-01 (default; not for wildcards) or dns-01 (with `dns`). */
    challenge: z.enum(['http-01', 'dns-01']).optional(),
    dns: installDns.optional(),
    /** ACME directory URL (default: the hub's KEYFLEET_ACME_DIRECTORY_URL, else Let's Encrypt). */
    ca: z
      .url({ protocol: /^https$/ })
      .max(2000)
      .optional(),
    keyType: z.enum(['ecdsa-p256', 'rsa-2048']).default('ecdsa-p256'),
    /** Port the CA connects to for HTTP-01: 80 unless a test CA. The agent's front answers there when it serves that port. */
    http01Port: z.number().int().min(1).max(65535).default(80),
  })
  .strict()
  .superRefine((r, ctx) => {
    const problem = certificateRequestProblem(r);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export type CertificateRequest = z.output<typeof certificateRequest>;
