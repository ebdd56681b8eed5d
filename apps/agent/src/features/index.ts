import { composeFeatures } from '../compose-features.js';
import { agentsFeature } from './agents/agents-feature.js';
import { backupsFeature } from './backups/backups-feature.js';
import { eventsFeature } from './events/events-feature.js';
import { hardeningFeature } from './hardening/hardening-feature.js';
import { keycloakFeature } from './keycloak/keycloak-feature.js';
import { logsFeature } from './logs/logs-feature.js';
import { metricsFeature } from './metrics/metrics-feature.js';
import { systemFeature } from './system/system-feature.js';
import { tlsFeature } from './tls/tls-feature.js';

/**
 * Every feature of this agent build. A task type declared in proto that no feature handles, or
 * that two handle, fails the type check here.
 */
export const features = composeFeatures([
  systemFeature,
  keycloakFeature,
  agentsFeature,
  backupsFeature,
  tlsFeature,
  metricsFeature,
  hardeningFeature,
  eventsFeature,
  logsFeature,
]);
