import type { CliFeature } from '../../cli-feature.js';
import { keycloakHostFacts } from './keycloak-host-facts.js';
import { keycloakCommand } from './keycloak-command.js';
import { realmCommand } from './realm-command.js';

/** `keyfleet keycloak …`, `keyfleet realm …` and the Keycloak columns of `hosts`. */
export const keycloakCliFeature: CliFeature = {
  name: 'keycloak',
  commands: () => [keycloakCommand(), realmCommand()],
  hostFacts: keycloakHostFacts,
};
