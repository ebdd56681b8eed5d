import { agentBaseUrl } from './agent-base-url.js';
import { configHash } from './config-hash.js';
import type { KeycloakInstanceRecord } from './instance-store.js';
import type { KeycloakConfig } from '../keycloak-types.js';
import { secretValue } from '../../../secret-value.js';

type RuntimePart = Pick<KeycloakInstanceRecord, 'runtime' | 'docker' | 'process'>;

/** The record of a running Keycloak as a runtime just deployed it; both runtimes share every field but their own part. */
export function newInstanceRecord(config: KeycloakConfig, runtime: RuntimePart, previous?: KeycloakInstanceRecord): KeycloakInstanceRecord {
  const now = new Date().toISOString();
  return {
    ...runtime,
    version: config.version,
    baseUrl: agentBaseUrl(config, runtime),
    managementUrl: `http://127.0.0.1:${config.managementPort}`,
    hostname: config.hostname,
    httpPort: config.httpPort,
    managementPort: config.managementPort,
    adminUser: config.bootstrapAdmin.username,
    adminPassword: secretValue(config.bootstrapAdmin.password),
    configHash: configHash(config),
    config,
    desiredState: 'running',
    installedAt: previous?.installedAt ?? now,
    updatedAt: now,
  };
}
