import type { KeycloakConfig } from '../keycloak-types.js';
import type { FrontTls } from './front-control.js';
import type { UpstreamHeaders } from './forwarded-headers.js';

/** How the front serves, beside its ports: forwarding headers it trusts, and HTTPS. */
export interface FrontOptions {
  /** The forwarding headers a proxy in front of the front sets, trusted only then (see forwardedHeaders). */
  upstream?: UpstreamHeaders;
  /** HTTPS on a public port, the front terminating TLS (see FrontTls). */
  tls?: FrontTls;
}

/**
 * How the front serves a Keycloak with this config: the forwarding headers of a proxy in front
 * of it, and HTTPS once the tls feature has installed a certificate (plain HTTP then closed
 * unless the operator kept it with `tls.httpEnabled`).
 */
export function frontOptions(config: KeycloakConfig): FrontOptions {
  const tls = config.tls;
  return {
    upstream: config.proxyHeaders ?? 'none',
    ...(tls?.certificateFile && tls.certificateKeyFile
      ? {
          tls: {
            httpsPort: tls.httpsPort,
            certificateFile: tls.certificateFile,
            certificateKeyFile: tls.certificateKeyFile,
            httpEnabled: tls.httpEnabled ?? false,
          },
        }
      : {}),
  };
}
