import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { certificateId } from './tls-common.js';

export const tlsChallenge = defineTask({
  name: 'tls.challenge',
  description: 'Answers an ACME HTTP-01 challenge from a short-lived listener on the host, until the TTL ends.',
  input: z
    .object({
      certificateId,
      token: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/),
      keyAuthorization: z.string().regex(/^[A-Za-z0-9_.-]{1,512}$/),
      /** Where the CA connects: 80 in production; a test CA may use another port. */
      port: z.number().int().min(1).max(65535).default(80),
      /** How long the listener stays up; it also closes once the certificate is installed. */
      ttlSec: z.number().int().min(5).max(3600).default(300),
    })
    .strict(),
  output: z.object({ url: z.string(), expiresAt: z.iso.datetime() }),
  defaultTimeoutMs: 30_000,
  summary: (o) => `answering at ${o.url} until ${o.expiresAt}`,
});
