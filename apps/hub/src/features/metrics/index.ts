import type { HubFeature } from '../../hub-feature.js';
import { metricsIngest } from './metrics-ingest.js';
import { runRetention } from './metrics-retention.js';
import { metricsRoutes } from './metrics-routes.js';
import * as m0040 from './migrations/0040-host-metrics.js';

export { onMetricSample } from './metrics-ingest.js';
export type { MetricsRoutes } from './metrics-routes.js';

/** How often each hub folds and prunes the history (KEYFLEET_METRICS_RETENTION_MS, default 60 s). */
const retentionMs = () => Number(process.env.KEYFLEET_METRICS_RETENTION_MS) || 60_000;

/** Host and Keycloak metrics: the agents' samples, a bounded history and the fleet's Prometheus endpoint. */
export const metricsFeature: HubFeature = {
  name: 'metrics',
  migrations: { '0040-host-metrics': m0040 },
  routes: metricsRoutes,
  services: [
    metricsIngest,
    {
      name: 'metrics-retention',
      async start(deps) {
        let running: Promise<unknown> = Promise.resolve();
        const timer = setInterval(() => {
          running = running.then(() => runRetention(deps.db)).catch((err: unknown) => deps.log.warn({ err }, 'metrics retention failed'));
        }, retentionMs());
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
