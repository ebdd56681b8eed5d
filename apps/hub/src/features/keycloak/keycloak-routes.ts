import type { ApiDeps } from '../../api/api-deps.js';
import { createRouter } from '../../api/create-router.js';
import { keycloakHostsRoutes } from './hosts/index.js';
import { realmsRoutes } from './realms/index.js';

/** Every Keycloak route under /v1; its type gives the CLI a typed client of just these. */
export function keycloakRoutes(deps: ApiDeps) {
  return createRouter().route('/', keycloakHostsRoutes(deps)).route('/', realmsRoutes(deps));
}

export type KeycloakRoutes = ReturnType<typeof keycloakRoutes>;
