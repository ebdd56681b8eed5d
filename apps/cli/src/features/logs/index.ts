import type { CliFeature } from '../../cli-feature.js';
import { logsCommand } from './logs-command.js';

/** `keyfleet logs`: a host's Keycloak and agent log lines, shipped by its agent. */
export const logsCliFeature: CliFeature = {
  name: 'logs',
  commands: () => [logsCommand()],
};
