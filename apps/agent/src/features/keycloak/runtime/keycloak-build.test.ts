import { describe, expect, it } from 'vitest';
import type { KeycloakConfig } from '../keycloak-types.js';
import { histogramsAtBuild, keycloakBuild } from './keycloak-build.js';
import { keycloakEnv } from './keycloak-env.js';

const config = (version: string) =>
  ({
    version,
    runtime: 'process',
    database: { kind: 'external', url: 'jdbc:postgresql://db/kc', username: 'kc', password: { $secret: 'db', value: 'pw' } },
    hostname: 'https://id.example.com',
    httpPort: 8080,
    managementPort: 9000,
    features: [],
    bootstrapAdmin: { username: 'admin', password: { $secret: 'admin', value: 'pw' } },
  }) as KeycloakConfig;

describe('keycloakBuild', () => {
  it('builds the HTTP histograms in where Keycloak takes them at build time, and passes them at start before that', () => {
    expect(histogramsAtBuild('26.4.7')).toBe(false);
    expect(histogramsAtBuild('26.5.0')).toBe(false);
    expect(histogramsAtBuild('26.7.0')).toBe(true);
    expect(histogramsAtBuild('27.0.1')).toBe(true);
    // 26.4.7's `kc.sh build` refuses it: "Run time option: '--http-metrics-histograms-enabled' not usable with build".
    expect(keycloakBuild(config('26.4.7')).args).not.toContain('--http-metrics-histograms-enabled=true');
    expect(keycloakEnv(config('26.4.7'), { httpPort: 1, managementPort: 2 }).KC_HTTP_METRICS_HISTOGRAMS_ENABLED).toBe('true');
    expect(keycloakBuild(config('26.7.4')).args).toContain('--http-metrics-histograms-enabled=true');
    expect(keycloakEnv(config('26.7.4'), { httpPort: 1, managementPort: 2 }).KC_HTTP_METRICS_HISTOGRAMS_ENABLED).toBeUndefined();
  });

  it('keys the build by version and options', () => {
    expect(keycloakBuild(config('26.7.4')).key).toMatch(/^[0-9a-f]{12}$/);
    expect(keycloakBuild(config('26.7.4')).key).not.toBe(keycloakBuild(config('26.7.3')).key);
  });
});
