import { frontBackends } from './front-backends.js';
import type { KeycloakInstanceRecord } from './instance-store.js';
import type { KeycloakConfig } from '../keycloak-types.js';

/**
 * Where this host's agent reaches Keycloak's HTTP listener (admin API, verify, backups): the
 * public HTTP port, or, once the front serves HTTPS only, the active Keycloak's own loopback port
 * (the public HTTPS port's certificate names the public host, not 127.0.0.1).
 */
export function agentBaseUrl(config: KeycloakConfig, runtime: Pick<KeycloakInstanceRecord, 'runtime' | 'docker' | 'process'>): string {
  const backends = frontBackends(runtime);
  const tls = config.tls;
  const httpClosed = !!(tls?.certificateFile && tls.certificateKeyFile && !tls.httpEnabled);
  return `http://127.0.0.1:${backends && httpClosed ? backends.httpPort : config.httpPort}`;
}
