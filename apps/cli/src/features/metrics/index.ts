import type { CliFeature } from '../../cli-feature.js';
import { hostsMetricsCommand } from './metrics-command.js';

/** `keyfleet hosts metrics`: host and Keycloak metrics the agents report. */
export const metricsCliFeature: CliFeature = {
  name: 'metrics',
  commands: () => [],
  hostCommands: () => [hostsMetricsCommand()],
};
