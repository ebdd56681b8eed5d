import { createHash } from 'node:crypto';
import type { KeycloakConfig } from '../keycloak-types.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Stable JSON: keys sorted at every level, so equal configs hash equal whatever their key order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => {
          const v = (value as Record<string, unknown>)[k];
          // A changed secret changes the hash, but the hash never reveals the secret.
          return [k, k === 'value' && typeof v === 'string' ? `sha256:${sha256(v)}` : canonical(v)];
        }),
    );
  }
  return value;
}

/**
 * Identifies what Keycloak runs with: equal hashes mean an install or update has nothing
 * to change. `verifyLogin` is left out: it only tells verify how to log in. So are the
 * certificate files: the tls feature sets them, the operator's config never names them; and the
 * certificate request (`tls.certificate`), which the hub acts on, not Keycloak: asking for a
 * certificate with an unchanged Keycloak restarts nothing.
 */
export function configHash(config: KeycloakConfig): string {
  const { verifyLogin: _ignored, tls, ...effective } = config;
  const { certificateFile: _file, certificateKeyFile: _key, certificate: _request, ...asked } = tls ?? {};
  return sha256(JSON.stringify(canonical(tls ? { ...effective, tls: asked } : effective)));
}
