import type { KeycloakInstanceRecord } from './instance-store.js';
import type { KeycloakConfig } from '../keycloak-types.js';
import { secretValue } from '../../../secret-value.js';

/**
 * The admin credentials that work on the instance a config leads to. Keycloak creates the
 * bootstrap admin only with a new master realm, so as long as the data stays (same runtime,
 * same database) the admin recorded at the first install is still the one that logs in.
 */
export function adminCredentials(config: KeycloakConfig, previous: KeycloakInstanceRecord | undefined): { adminUser: string; adminPassword: string } {
  const a = previous?.config.database;
  const b = config.database;
  const sameData = previous?.runtime === config.runtime && a?.kind === b.kind && (a.kind !== 'external' || (b.kind === 'external' && a.url === b.url));
  if (previous && sameData) return { adminUser: previous.adminUser, adminPassword: previous.adminPassword };
  return { adminUser: config.bootstrapAdmin.username, adminPassword: secretValue(config.bootstrapAdmin.password) };
}
