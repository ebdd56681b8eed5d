import { defineFeature } from '../../agent-feature.js';
import { backupDrill } from './backup-drill.js';
import { backupRestore } from './backup-restore.js';
import { backupRun } from './backup-run.js';

/** Backups of this host's Keycloak (write-only: this host holds recipients, never identities) and restore drills. */
export const backupsFeature = defineFeature({
  name: 'backups',
  handlers: {
    'backup.run': backupRun,
    'backup.drill': backupDrill,
    'backup.restore': backupRestore,
  },
});
