import { isAbsolute } from 'node:path';
import { TaskFailure } from '../../../task-failure.js';
import type { KeycloakConfig } from '../keycloak-types.js';
import { secretValue } from '../../../secret-value.js';

/**
 * Rejects, before anything is touched, a config the chosen runtime cannot carry out and
 * secrets the hub did not resolve, so a half-done install never has to be rolled back.
 */
export function checkKeycloakConfig(config: KeycloakConfig): void {
  const bad = (message: string) => new TaskFailure('invalid_input', message);
  if (config.runtime === 'process') {
    if (!config.distUrl) throw bad('the process runtime needs distUrl (URL or absolute path of the keycloak-<version>.tar.gz)');
    if (!/^(https?|file):\/\//.test(config.distUrl) && !isAbsolute(config.distUrl)) {
      throw bad(`distUrl must be an http(s):// or file:// URL or an absolute path, got "${config.distUrl}"`);
    }
    if (config.database.kind === 'bundled') throw bad('a bundled database needs the docker runtime; use an external database or dev-file');
  } else if (!config.image) {
    throw bad('the docker runtime needs image (e.g. quay.io/keycloak/keycloak:26.4.7)');
  }
  if (config.httpPort === config.managementPort) throw bad(`httpPort and managementPort must differ (both ${config.httpPort})`);
  secretValue(config.bootstrapAdmin.password);
  if (config.database.kind !== 'dev-file') secretValue(config.database.password);
  const login = config.verifyLogin;
  if (login) secretValue(login.grant === 'password' ? login.password : login.clientSecret);
}
