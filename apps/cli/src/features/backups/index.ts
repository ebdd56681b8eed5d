import type { CliFeature } from '../../cli-feature.js';
import { backupKeysCommand } from './backup-keys-command.js';
import { backupsCommand } from './backups-command.js';
import { schedulesCommand } from './schedules-command.js';

/** `keyfleet backups …`, `keyfleet backup-keys …` and `keyfleet schedules …`. */
export const backupsCliFeature: CliFeature = {
  name: 'backups',
  commands: () => [backupsCommand(), backupKeysCommand(), schedulesCommand()],
};
