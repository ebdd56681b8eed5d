import type { CliFeature } from '../cli-feature.js';
import { agentsCliFeature } from './agents/index.js';
import { alertsCliFeature } from './alerts/index.js';
import { backupsCliFeature } from './backups/index.js';
import { eventsCliFeature } from './events/index.js';
import { hardeningCliFeature } from './hardening/index.js';
import { keycloakCliFeature } from './keycloak/index.js';
import { logsCliFeature } from './logs/index.js';
import { metricsCliFeature } from './metrics/index.js';
import { tlsCliFeature } from './tls/index.js';

/** Every capability plugged into this CLI. */
export const cliFeatures: readonly CliFeature[] = [
  keycloakCliFeature,
  agentsCliFeature,
  backupsCliFeature,
  tlsCliFeature,
  metricsCliFeature,
  alertsCliFeature,
  eventsCliFeature,
  hardeningCliFeature,
  logsCliFeature,
];
