import type { CliFeature } from '../../cli-feature.js';
import { hostsTopCommand } from './hosts-top-command.js';
import { hostsMetricsCommand } from './metrics-command.js';

/** `keyfleet hosts metrics` and `hosts top`: host and Keycloak metrics the agents report. */
export const metricsCliFeature: CliFeature = {
  name: 'metrics',
  commands: () => [],
  hostCommands: () => [hostsMetricsCommand(), hostsTopCommand()],
};
