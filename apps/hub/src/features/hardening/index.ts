import type { HubFeature } from '../../hub-feature.js';
import { hardeningProjections } from './hardening-projections.js';
import { hardeningRoutes } from './hardening-routes.js';
import * as m0050 from './migrations/0050-hardening.js';

export type { HardeningRoutes } from './hardening-routes.js';

/** Host hardening on the hub: each host's last report and the status changes between reports (drift). */
export const hardeningFeature: HubFeature = {
  name: 'hardening',
  migrations: { '0050-hardening': m0050 },
  projections: hardeningProjections,
  routes: hardeningRoutes,
};
