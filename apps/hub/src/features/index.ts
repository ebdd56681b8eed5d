import type { HubFeature } from '../hub-feature.js';
import { agentsFeature } from './agents/index.js';
import { alertsFeature } from './alerts/index.js';
import { backupsFeature } from './backups/index.js';
import { eventsFeature } from './events/index.js';
import { hardeningFeature } from './hardening/index.js';
import { keycloakFeature } from './keycloak/index.js';
import { logsFeature } from './logs/index.js';
import { metricsFeature } from './metrics/index.js';
import { tlsFeature } from './tls/index.js';

/** Every capability plugged into this hub. */
export const hubFeatures: readonly HubFeature[] = [
  keycloakFeature,
  agentsFeature,
  backupsFeature,
  tlsFeature,
  metricsFeature,
  alertsFeature,
  hardeningFeature,
  eventsFeature,
  logsFeature,
];
