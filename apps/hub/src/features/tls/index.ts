import type { HubFeature } from '../../hub-feature.js';
import { certificateFromConfig } from './certificate-from-config.js';
import { certificateScheduler } from './certificate-scheduler.js';
import { certificatesRoutes } from './certificates-routes.js';
import * as m0020 from './migrations/0020-certificates.js';
import * as m0021 from './migrations/0021-certificate-issuers.js';
import * as m0022 from './migrations/0022-acme-orders.js';
import * as m0023 from './migrations/0023-certificates-from-install.js';
import * as m0024 from './migrations/0024-certificate-revocation.js';

/** Certificates on the hub: hosts' CSRs signed by an ACME CA (HTTP-01, DNS-01) or the hub's own CA, the records, renewal (ARI) and retries, and the certificates Keycloak configs ask for. */
export const tlsFeature: HubFeature = {
  name: 'tls',
  migrations: {
    '0020-certificates': m0020,
    '0021-certificate-issuers': m0021,
    '0022-acme-orders': m0022,
    '0023-certificates-from-install': m0023,
    '0024-certificate-revocation': m0024,
  },
  // A Keycloak config's `tls.certificate` becomes a certificate row once the install (or update) succeeded.
  projections: { 'keycloak.install': certificateFromConfig, 'keycloak.update': certificateFromConfig },
  routes: certificatesRoutes,
  services: [certificateScheduler],
};
