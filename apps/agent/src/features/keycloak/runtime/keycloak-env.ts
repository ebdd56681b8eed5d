import type { KeycloakConfig } from '../keycloak-types.js';
import { secretValue } from '../../../secret-value.js';
import { histogramsAtBuild } from './keycloak-build.js';

export interface KeycloakPlacement {
  /** Address Keycloak binds (its management interface inherits it); undefined: Keycloak's default, all addresses. */
  httpHost?: string;
  httpPort: number;
  managementPort: number;
  /** JDBC URL of the bundled database as this Keycloak reaches it. */
  bundledDbUrl?: string;
  /**
   * The address the agent's front connects from, when Keycloak is behind it: Keycloak then reads
   * the client's address, scheme and host from the front's forwarding headers, and from no one else.
   */
  frontAddress?: string;
}

/**
 * Keycloak's runtime options for a config placed on given ports, as KC_* variables: in the
 * environment (never argv), a password does not show in `ps`.
 */
export function keycloakEnv(config: KeycloakConfig, placement: KeycloakPlacement): Record<string, string> {
  const env: Record<string, string> = {
    KC_HOSTNAME: config.hostname,
    // TLS is terminated in front of Keycloak (the agent's front, or a proxy): Keycloak itself speaks HTTP.
    KC_HTTP_ENABLED: 'true',
    KC_HTTP_PORT: String(placement.httpPort),
    KC_HTTP_MANAGEMENT_PORT: String(placement.managementPort),
    // One Keycloak per host: the clustered default would bind 7800 and look for peers, and
    // during an update the old and the new instance would collide on that port.
    KC_CACHE: 'local',
    KC_BOOTSTRAP_ADMIN_USERNAME: config.bootstrapAdmin.username,
    KC_BOOTSTRAP_ADMIN_PASSWORD: secretValue(config.bootstrapAdmin.password),
  };
  if (placement.httpHost) env.KC_HTTP_HOST = placement.httpHost;
  // HTTP latency percentiles: at start where `kc.sh build` refuses the option (before 26.7, see keycloakBuild).
  if (!histogramsAtBuild(config.version)) env.KC_HTTP_METRICS_HISTOGRAMS_ENABLED = 'true';
  const tls = config.tls;
  // Behind the front, the front terminates TLS: Keycloak stays on HTTP, sees the scheme in
  // X-Forwarded-Proto, and needs neither the PEMs (nor a mount of them in a container) nor a port of its own.
  if (tls?.certificateFile && tls.certificateKeyFile && !placement.frontAddress) {
    // Keycloak re-reads the PEMs every reload period, so a renewed certificate is served without a restart.
    Object.assign(env, {
      KC_HTTPS_PORT: String(tls.httpsPort),
      KC_HTTPS_CERTIFICATE_FILE: tls.certificateFile,
      KC_HTTPS_CERTIFICATE_KEY_FILE: tls.certificateKeyFile,
      KC_HTTPS_CERTIFICATES_RELOAD_PERIOD: tls.reloadPeriod,
      // Health and metrics stay plain HTTP on the management port: the readiness checks and
      // the metrics scrape do not depend on the certificate this feature is replacing.
      KC_HTTP_MANAGEMENT_SCHEME: 'http',
    });
  }
  if (placement.frontAddress) {
    // The front speaks the style its own upstream uses, X-Forwarded-* when it is the edge.
    env.KC_PROXY_HEADERS = config.proxyHeaders ?? 'xforwarded';
    env.KC_PROXY_TRUSTED_ADDRESSES = placement.frontAddress;
  } else if (config.proxyHeaders) env.KC_PROXY_HEADERS = config.proxyHeaders;
  const db = config.database;
  if (db.kind === 'external') {
    Object.assign(env, { KC_DB_URL: db.url, KC_DB_USERNAME: db.username, KC_DB_PASSWORD: secretValue(db.password) });
  } else if (db.kind === 'bundled') {
    if (!placement.bundledDbUrl) throw new Error('a bundled database needs its JDBC URL');
    Object.assign(env, { KC_DB_URL: placement.bundledDbUrl, KC_DB_USERNAME: 'keycloak', KC_DB_PASSWORD: secretValue(db.password) });
  }
  return env;
}
