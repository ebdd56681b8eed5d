import type { CliFeature } from '../../cli-feature.js';
import { hardeningCommand } from './hardening-command.js';
import { maintenanceCommand } from './maintenance-command.js';

/** `keyfleet hardening …`: audit, plan, apply, rollback, show and the fleet report; `keyfleet maintenance …`: the upkeep reports. */
export const hardeningCliFeature: CliFeature = {
  name: 'hardening',
  commands: () => [hardeningCommand(), maintenanceCommand()],
};
