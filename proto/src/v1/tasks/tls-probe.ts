import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { certificateFacts, describeCertificate, domainName } from './tls-common.js';

export const tlsProbe = defineTask({
  name: 'tls.probe',
  description: 'Performs a TLS handshake on a port of the host and reports the certificate actually served.',
  input: z
    .object({
      port: z.number().int().min(1).max(65535).default(8443),
      /** SNI name sent; the certificate's name is checked against it. */
      servername: domainName.optional(),
    })
    .strict(),
  output: z.object({ served: certificateFacts, nameMatches: z.boolean() }),
  defaultTimeoutMs: 30_000,
  summary: (o) => `${describeCertificate(o.served)}${o.nameMatches ? '' : ', name does not match'}`,
});
