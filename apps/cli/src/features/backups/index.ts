import type { CliFeature } from '../../cli-feature.js';
import { backupKeysCommand } from './backup-keys-command.js';
import { backupsCommand } from './backups-command.js';

/** `keyfleet backups …` and `keyfleet backup-keys …`. */
export const backupsCliFeature: CliFeature = {
  name: 'backups',
  commands: () => [backupsCommand(), backupKeysCommand()],
};
