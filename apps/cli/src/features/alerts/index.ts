import type { CliFeature } from '../../cli-feature.js';
import { alertRulesCommand } from './alert-rules-command.js';
import { alertsCommand } from './alerts-command.js';
import { channelsCommand } from './channels-command.js';

/** `keyfleet alerts|alert-rules|channels`: the hub's alerts, their rules and where they go. */
export const alertsCliFeature: CliFeature = {
  name: 'alerts',
  commands: () => [alertsCommand(), alertRulesCommand(), channelsCommand()],
};
