import type { HubFeature } from '../../hub-feature.js';
import { keycloakProjections } from './keycloak-projections.js';
import { keycloakRoutes } from './keycloak-routes.js';
import * as m0003 from './migrations/0003-host-keycloak.js';
import * as m0004 from './migrations/0004-realm-specs.js';
import * as m0006 from './migrations/0006-keycloak-hosts.js';

/** Keycloak on the hub: host Keycloak records, verification, realm spec history and rollback. */
export const keycloakFeature: HubFeature = {
  name: 'keycloak',
  migrations: { '0003-host-keycloak': m0003, '0004-realm-specs': m0004, '0006-keycloak-hosts': m0006 },
  projections: keycloakProjections,
  routes: keycloakRoutes,
};
