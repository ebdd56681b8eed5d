import type { HubFeature } from '../../hub-feature.js';
import { logsIngest } from './logs-ingest.js';
import { pruneLogs } from './logs-retention.js';
import { logsRoutes } from './logs-routes.js';
import * as m0060 from './migrations/0060-host-logs.js';

export type { LogsRoutes } from './logs-routes.js';

/** How often each hub prunes old log lines (KEYFLEET_LOGS_PRUNE_MS, default 5 min). */
const pruneMs = () => Number(process.env.KEYFLEET_LOGS_PRUNE_MS) || 300_000;

/** The Keycloak and agent log lines every managed host ships, kept by age and by size per host. */
export const logsFeature: HubFeature = {
  name: 'logs',
  migrations: { '0060-host-logs': m0060 },
  routes: logsRoutes,
  services: [
    logsIngest,
    {
      name: 'logs-retention',
      async start(deps) {
        let running: Promise<unknown> = Promise.resolve();
        const timer = setInterval(() => {
          running = running.then(() => pruneLogs(deps.db)).catch((err: unknown) => deps.log.warn({ err }, 'log retention failed'));
        }, pruneMs());
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
