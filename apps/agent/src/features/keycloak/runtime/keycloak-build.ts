import { createHash } from 'node:crypto';
import type { KeycloakConfig } from '../keycloak-types.js';

export interface KeycloakBuild {
  /** `kc.sh build` arguments: what an optimized start is fixed to. */
  args: string[];
  /** Short hash of version + arguments: names the built dist dir. */
  key: string;
}

const HISTOGRAMS_AT_BUILD_SINCE = [26, 7] as const;

/**
 * Whether `kc.sh build` of this Keycloak version takes `http-metrics-histograms-enabled`. It is a
 * runtime option (`start --help-all` of 26.4.7 and 26.5.0 lists it, `build` does not), and
 * 26.4.7's build refuses it ("Run time option … not usable with build") where 26.7's accepts it.
 * Before 26.7 it is given at start instead (keycloakEnv), which every 26.x takes; 26.7+ keeps the
 * build it had, so existing installs keep their build key.
 */
export function histogramsAtBuild(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [sinceMajor, sinceMinor] = HISTOGRAMS_AT_BUILD_SINCE;
  return major > sinceMajor || (major === sinceMajor && minor >= sinceMinor);
}

/** Keycloak's build-time options for a config (database vendor, health, metrics, features). */
export function keycloakBuild(config: KeycloakConfig): KeycloakBuild {
  const args = [
    `--db=${config.database.kind === 'dev-file' ? 'dev-file' : 'postgres'}`,
    '--health-enabled=true',
    '--metrics-enabled=true',
    // What the metrics feature reads: logins and failures per realm, and HTTP latency percentiles.
    '--event-metrics-user-enabled=true',
    ...(histogramsAtBuild(config.version) ? ['--http-metrics-histograms-enabled=true'] : []),
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
