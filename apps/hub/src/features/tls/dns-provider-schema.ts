import { z } from '@hono/zod-openapi';
import { certificateDomain } from '@keyfleet/proto/v1';
import { tsigAlgorithms } from './dns01/tsig.js';

/** A DNS name like id.example.com (a zone or a server's name: never a wildcard). */
export const DomainSchema = z
  .string()
  .max(253)
  .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i, 'a DNS name like id.example.com');

/** A name a certificate is for: a DNS name or a wildcard (`*.example.com`, DNS-01 only), as proto declares it. */
export const CertificateDomainSchema = certificateDomain;

const secretName = z.string().regex(/^[a-zA-Z0-9._-]{1,128}$/, 'secret names are 1-128 chars of [a-zA-Z0-9._-]');

/** DNS-01 provider settings; the TSIG secret is a reference to the hub's secret store, never a value. */
export const DnsProviderSchema = z
  .discriminatedUnion('provider', [
    z
      .object({
        provider: z.literal('rfc2136'),
        server: z
          .string()
          .max(300)
          .regex(/^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/, 'host, host:port or [v6]:port of the primary DNS server')
          .openapi({ description: 'The primary that accepts RFC 2136 updates (port 53 when absent)' }),
        zone: DomainSchema.optional().openapi({ description: 'The zone to update (default: found by asking the server for the SOA)' }),
        keyName: DomainSchema.openapi({ description: 'TSIG key name' }),
        algorithm: z.enum(tsigAlgorithms).default('hmac-sha256'),
        secret: z.object({ $secret: secretName }).strict().openapi({ description: 'The base64 TSIG secret, by its name in the hub’s secret store' }),
      })
      .strict(),
    z
      .object({ provider: z.literal('hook') })
      .strict()
      .openapi({ description: 'The hub’s KEYFLEET_DNS01_HOOK command publishes the record' }),
  ])
  .openapi('DnsProvider');
