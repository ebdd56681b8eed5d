import type { HubFeature } from '../../hub-feature.js';
import { certificateScheduler } from './certificate-scheduler.js';
import { certificatesRoutes } from './certificates-routes.js';
import * as m0020 from './migrations/0020-certificates.js';

/** Certificates on the hub: ACME orders for hosts' CSRs, the certificate records, renewal and retries. */
export const tlsFeature: HubFeature = {
  name: 'tls',
  migrations: { '0020-certificates': m0020 },
  routes: certificatesRoutes,
  services: [certificateScheduler],
};
