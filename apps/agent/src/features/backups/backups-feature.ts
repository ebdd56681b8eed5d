import { defineFeature } from '../../agent-feature.js';
import { lazyHandler } from '../../lazy-handler.js';
import { drillWorkingDirsSweep } from './drill-working-dirs-sweep.js';
import { scratchReaper } from './scratch-reaper.js';

/**
 * Backups of this host's Keycloak (write-only: this host holds recipients, never identities),
 * restore drills, and keycloak.update: an upgrade is made reversible by a backup, so the task is
 * handled here, around the Keycloak feature's update (backups already build on Keycloak). Its
 * services reap what a drill interrupted by an agent crash left running, and its working dirs.
 */
export const backupsFeature = defineFeature({
  name: 'backups',
  handlers: {
    'backup.run': lazyHandler(() => import('./backup-run.js').then((m) => m.backupRun)),
    'backup.drill': lazyHandler(() => import('./backup-drill.js').then((m) => m.backupDrill)),
    'backup.restore': lazyHandler(() => import('./backup-restore.js').then((m) => m.backupRestore)),
    'keycloak.update': lazyHandler(() => import('./safe-keycloak-update.js').then((m) => m.safeKeycloakUpdate)),
  },
  services: [scratchReaper, drillWorkingDirsSweep],
});
