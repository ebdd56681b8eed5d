import type { ApiDeps } from '../../api/api-deps.js';
import { createRouter } from '../../api/create-router.js';
import type { HubFeature } from '../../hub-feature.js';
import { backupKeysRoutes } from './backup-keys-routes.js';
import { registerBackupMetrics } from './backup-metrics.js';
import { backupsProjections } from './backups-projections.js';
import { backupsRoutes } from './backups-routes.js';
import { backupsStorage } from './backups-storage.js';
import { sweepBackups } from './backups-sweeper.js';
import * as m0010 from './migrations/0010-backups.js';
import * as m0011 from './migrations/0011-backup-restores.js';
import { uploadRoutes } from './upload-routes.js';

/** Every backups route under /v1; its type gives the CLI a typed client of just these. */
export function backupsApi(deps: ApiDeps) {
  const storage = backupsStorage(deps);
  return createRouter().route('/', backupKeysRoutes(deps)).route('/', backupsRoutes(deps, storage)).route('/', uploadRoutes(deps, storage));
}

export type BackupsRoutes = ReturnType<typeof backupsApi>;

/** How often each hub sweeps interrupted and failed backups (KEYFLEET_BACKUP_SWEEP_MS, default 30 s). */
const sweepMs = () => Number(process.env.KEYFLEET_BACKUP_SWEEP_MS) || 30_000;

/** Backups on the hub: recipients, the catalog, storage and the single-use upload targets. */
export const backupsFeature: HubFeature = {
  name: 'backups',
  migrations: { '0010-backups': m0010, '0011-backup-restores': m0011 },
  projections: backupsProjections,
  routes: backupsApi,
  services: [
    {
      name: 'backups-sweeper-and-metrics',
      async start(deps) {
        registerBackupMetrics(deps);
        const storage = backupsStorage(deps);
        let running: Promise<unknown> = Promise.resolve();
        const timer = setInterval(() => {
          running = sweepBackups(deps.db, storage, deps.log).catch((err: unknown) => deps.log.warn({ err }, 'backup sweep failed'));
        }, sweepMs());
        return {
          async stop() {
            clearInterval(timer);
            await running;
          },
        };
      },
    },
  ],
};
