import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { certificateFacts, certificateId, describeCertificate, reloadPeriod } from './tls-common.js';

export const tlsInstall = defineTask({
  name: 'tls.install',
  description:
    'Installs a certificate for the key made by tls.csr for Keycloak (PEMs 0600, swapped without a restart), then proves by a handshake on the public HTTPS port that it is served.',
  input: z
    .object({
      certificateId,
      /** Leaf first, then the chain, as the CA returned it. */
      certificatePem: z
        .string()
        .startsWith('-----BEGIN CERTIFICATE-----')
        .max(64 * 1024),
      /** The public HTTPS port (the front's, or Keycloak's own without a front). */
      httpsPort: z.number().int().min(1).max(65535).default(8443),
      /** Keycloak's https-certificates-reload-period, for a Keycloak that serves HTTPS itself (no front); the front swaps at once. */
      reloadPeriod: reloadPeriod.default('1m'),
    })
    .strict(),
  output: z.object({
    installed: certificateFacts,
    served: certificateFacts,
    /** True when Keycloak had to restart to turn HTTPS on (first install on a Keycloak without the agent's front); never behind the front. */
    restarted: z.boolean(),
    /** Seconds from writing the files until the handshake showed the new certificate. */
    servedAfterSec: z.number().nonnegative(),
  }),
  defaultTimeoutMs: 10 * 60_000,
  summary: (o) => `installed and served (${describeCertificate(o.served)})${o.restarted ? ', Keycloak restarted to turn HTTPS on' : ''}`,
});
