import type { ApiDeps } from '../../api/api-deps.js';
import { createRouter } from '../../api/create-router.js';
import type { HubFeature } from '../../hub-feature.js';
import { hardeningProjections } from './hardening-projections.js';
import { hardeningRoutes } from './hardening-routes.js';
import { maintenanceProjections } from './maintenance-projections.js';
import { maintenanceRoutes } from './maintenance-routes.js';
import * as m0050 from './migrations/0050-hardening.js';
import * as m0051 from './migrations/0051-maintenance-reports.js';

/** Every hardening and maintenance route under /v1; its type gives the CLI a typed client of just these. */
export function hardeningApi(deps: ApiDeps) {
  return createRouter().route('/', hardeningRoutes(deps)).route('/', maintenanceRoutes(deps));
}

export type HardeningRoutes = ReturnType<typeof hardeningApi>;

/**
 * Host hardening on the hub: each host's last report and the status changes between reports
 * (drift); and each host's last maintenance reports (OS updates, Lynis scan, Keycloak version).
 */
export const hardeningFeature: HubFeature = {
  name: 'hardening',
  migrations: { '0050-hardening': m0050, '0051-maintenance-reports': m0051 },
  projections: { ...hardeningProjections, ...maintenanceProjections },
  routes: hardeningApi,
};
