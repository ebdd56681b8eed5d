import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { certificateDomain, certificateId } from './tls-common.js';

export const tlsCsr = defineTask({
  name: 'tls.csr',
  description: 'Generates a certificate key on the host (kept there, 0600) and returns a CSR for it.',
  input: z
    .object({
      certificateId,
      // Wildcards too (proved by DNS-01 on the hub, never by the host): the CSR just carries the names.
      domains: z.array(certificateDomain).min(1).max(100),
      keyType: z.enum(['ecdsa-p256', 'rsa-2048']).default('ecdsa-p256'),
    })
    .strict(),
  output: z.object({
    csrPem: z.string().startsWith('-----BEGIN CERTIFICATE REQUEST-----'),
    keyType: z.enum(['ecdsa-p256', 'rsa-2048']),
    /** sha256 of the public key (SPKI DER), hex: lets the hub see which key a certificate is for. */
    publicKeySha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  defaultTimeoutMs: 60_000,
  summary: (o) => `${o.keyType} key generated, public key sha256 ${o.publicKeySha256.slice(0, 16)}…`,
});
