import type { CliFeature } from '../../cli-feature.js';
import { hardeningCommand } from './hardening-command.js';

/** `keyfleet hardening …`: audit, plan, apply, rollback, show and the fleet report. */
export const hardeningCliFeature: CliFeature = {
  name: 'hardening',
  commands: () => [hardeningCommand()],
};
