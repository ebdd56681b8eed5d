import type { ApiDeps } from '../../api/api-deps.js';
import { createRouter } from '../../api/create-router.js';
import type { HubFeature } from '../../hub-feature.js';
import { backupExportRoutes } from './backup-export-routes.js';
import { backupKeysRoutes } from './backup-keys-routes.js';
import { registerBackupMetrics } from './backup-metrics.js';
import { backupsProjections } from './backups-projections.js';
import { backupsRoutes } from './backups-routes.js';
import { backupsStorage } from './backups-storage.js';
import { preUpdateBackupRoutes } from './pre-update-backup-routes.js';
import { sweepBackups } from './backups-sweeper.js';
import { exportUploadRoutes } from './export-upload-routes.js';
import { hubBackupRoutes } from './hub/hub-backup-routes.js';
import * as m0010 from './migrations/0010-backups.js';
import * as m0011 from './migrations/0011-backup-restores.js';
import * as m0012 from './migrations/0012-backup-schedules.js';
import * as m0013 from './migrations/0013-schedule-tasks.js';
import * as m0017 from './migrations/0017-backup-exports.js';
import * as m0018 from './migrations/0018-hub-backup-schedules.js';
import { scheduleTick } from './schedules/schedule-tick.js';
import { schedulesRoutes } from './schedules/schedules-routes.js';
import { sweepBackupExports } from './sweep-backup-exports.js';
import { uploadRoutes } from './upload-routes.js';

/** Every backups route under /v1; its type gives the CLI a typed client of just these. */
export function backupsApi(deps: ApiDeps) {
  const storage = backupsStorage(deps);
  return createRouter()
    .route('/', backupKeysRoutes(deps))
    .route('/', backupsRoutes(deps, storage))
    .route('/', uploadRoutes(deps, storage))
    .route('/', backupExportRoutes(deps, storage))
    .route('/', exportUploadRoutes(deps, storage))
    .route('/', preUpdateBackupRoutes(deps, storage))
    .route('/', hubBackupRoutes(deps, storage))
    .route('/', schedulesRoutes(deps));
}

export type BackupsRoutes = ReturnType<typeof backupsApi>;

/** How often each hub sweeps interrupted and failed backups (KEYFLEET_BACKUP_SWEEP_MS, default 30 s). */
const sweepMs = () => Number(process.env.KEYFLEET_BACKUP_SWEEP_MS) || 30_000;

/** How often each hub looks at the schedules (KEYFLEET_BACKUP_SCHEDULE_TICK_MS, default 5 s): the most a run starts late. */
const scheduleTickMs = () => Number(process.env.KEYFLEET_BACKUP_SCHEDULE_TICK_MS) || 5_000;

/** Backups on the hub: recipients, the catalog, storage, the single-use upload targets and the fleet-wide schedules. */
export const backupsFeature: HubFeature = {
  name: 'backups',
  migrations: {
    '0010-backups': m0010,
    '0011-backup-restores': m0011,
    '0012-backup-schedules': m0012,
    '0013-schedule-tasks': m0013,
    '0017-backup-exports': m0017,
    '0018-hub-backup-schedules': m0018,
  },
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
          running = sweepBackups(deps.db, storage, deps.log)
            .then(() => sweepBackupExports(deps.db, storage, deps.log))
            .catch((err: unknown) => deps.log.warn({ err }, 'backup sweep failed'));
        }, sweepMs());
        return {
          async stop() {
            clearInterval(timer);
            await running;
          },
        };
      },
    },
    {
      name: 'backup-schedules',
      async start(deps) {
        const tickDeps = { ...deps, storage: backupsStorage(deps) };
        let running: Promise<unknown> = Promise.resolve();
        let busy = false;
        const timer = setInterval(() => {
          // A slow pass (many hosts, a slow store) is not overtaken by the next one on the same hub.
          if (busy) return;
          busy = true;
          running = scheduleTick(tickDeps, new Date())
            .catch((err: unknown) => deps.log.warn({ err }, 'backup schedule pass failed'))
            .finally(() => {
              busy = false;
            });
        }, scheduleTickMs());
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
