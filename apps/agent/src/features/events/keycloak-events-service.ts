import { setTimeout as sleep } from 'node:timers/promises';
import type { FeatureService } from '../../agent-feature.js';
import { loadInstance } from '../keycloak/index.js';
import { EventCursors } from './event-cursors.js';
import type { KeycloakEventPuller } from './keycloak-event-puller.js';

const DEFAULT_INTERVAL_MS = 15_000;
/**
 * Pulls the login and admin events of the Keycloak Keyfleet installed on this host (admin REST,
 * as its bootstrap admin) and sends them to the hub in acknowledged batches. A realm that does
 * not store events yet is switched on (login and admin events, never the admin events'
 * representations, which can hold secrets), because the audit trail is built from them.
 * `KEYFLEET_EVENTS_INTERVAL_MS` sets the interval (0 turns the pull off).
 */
export const keycloakEventsService: FeatureService = {
  name: 'keycloak-events',
  async start(ctx) {
    const intervalMs = Number(process.env.KEYFLEET_EVENTS_INTERVAL_MS ?? DEFAULT_INTERVAL_MS);
    if (!(intervalMs > 0)) return { stop: async () => {} };
    const stopped = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stopped.signal]);
    const cursors = await EventCursors.open(ctx.stateDir);
    const loop = (async () => {
      // The puller and Keycloak's admin client load with the first instance: an agent without one stays small.
      let puller: KeycloakEventPuller | undefined;
      while (!signal.aborted) {
        if (ctx.connected()) {
          try {
            if (!puller && (await loadInstance(ctx.stateDir))) puller = new (await import('./keycloak-event-puller.js')).KeycloakEventPuller(ctx, cursors);
            await puller?.pullOnce(signal);
          } catch (err) {
            ctx.log.warn({ reason: (err as Error).message }, 'Keycloak event pull failed; retrying next interval');
          }
        }
        await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
      }
    })();
    return {
      stop: async () => {
        stopped.abort();
        await loop;
      },
    };
  },
};
