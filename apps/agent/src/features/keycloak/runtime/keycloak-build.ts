import { createHash } from 'node:crypto';
import type { KeycloakConfig } from '../keycloak-types.js';

export interface KeycloakBuild {
  /** `kc.sh build` arguments: what an optimized start is fixed to. */
  args: string[];
  /** Short hash of version + arguments: names the built dist dir. */
  key: string;
}

/** Keycloak's build-time options for a config (database vendor, health, metrics, features). */
export function keycloakBuild(config: KeycloakConfig): KeycloakBuild {
  const args = [
    `--db=${config.database.kind === 'dev-file' ? 'dev-file' : 'postgres'}`,
    '--health-enabled=true',
    '--metrics-enabled=true',
    // What the metrics feature reads: logins and failures per realm, and HTTP latency percentiles.
    '--event-metrics-user-enabled=true',
    '--http-metrics-histograms-enabled=true',
    ...(config.features.length > 0 ? [`--features=${[...config.features].sort().join(',')}`] : []),
  ];
  return {
    args,
    key: createHash('sha256')
      .update(`${config.version}\n${args.join('\n')}`)
      .digest('hex')
      .slice(0, 12),
  };
}
