import type { HubFeature } from '../../hub-feature.js';
import { auditTrailRoutes } from './audit-trail-routes.js';
import { eventsIngest } from './events-ingest.js';
import { pruneEvents } from './events-retention.js';
import * as m0050 from './migrations/0050-keycloak-events.js';

export type { AuditTrailRoutes } from './audit-trail-routes.js';

/** How often each hub prunes old events (KEYFLEET_EVENTS_PRUNE_MS, default 10 min). */
const pruneMs = () => Number(process.env.KEYFLEET_EVENTS_PRUNE_MS) || 600_000;

/** Keycloak's login and admin events from every managed host, joined with the hub's own audit log into one trail. */
export const eventsFeature: HubFeature = {
  name: 'events',
  migrations: { '0050-keycloak-events': m0050 },
  routes: auditTrailRoutes,
  services: [
    eventsIngest,
    {
      name: 'keycloak-events-retention',
      async start(deps) {
        let running: Promise<unknown> = Promise.resolve();
        const timer = setInterval(() => {
          running = running.then(() => pruneEvents(deps.db)).catch((err: unknown) => deps.log.warn({ err }, 'Keycloak events retention failed'));
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
