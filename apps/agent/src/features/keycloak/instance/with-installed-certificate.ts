import type { KeycloakInstanceRecord } from './instance-store.js';
import type { KeycloakConfig } from '../keycloak-types.js';

/**
 * The operator's config with the certificate the tls feature installed for the previous one:
 * re-applying keycloak.yaml (install or update) must not turn HTTPS off. A config without a
 * `tls` block does turn it off.
 */
export function withInstalledCertificate(config: KeycloakConfig, previous: KeycloakInstanceRecord | undefined): KeycloakConfig {
  const installed = previous?.config.tls;
  if (!config.tls || !installed?.certificateFile || !installed.certificateKeyFile) return config;
  return { ...config, tls: { ...config.tls, certificateFile: installed.certificateFile, certificateKeyFile: installed.certificateKeyFile } };
}
