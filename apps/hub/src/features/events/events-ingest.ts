import { DecodeError, decode, encode, type KeycloakEvents, messages, subjects } from '@keyfleet/proto/v1';
import type { HubService } from '../../hub-feature.js';
import { storeKeycloakEvents } from './store-keycloak-events.js';

/**
 * Stores the batches of Keycloak events agents send (queue group: each batch reaches one hub) and
 * answers each with how many were new, or a rejection the agent retries after. An event already
 * stored (same host and Keycloak event id) is skipped; a batch of an unknown host stores nothing.
 */
export const eventsIngest: HubService = {
  name: 'keycloak-events-ingest',
  async start(deps) {
    const log = deps.log.child({ service: 'keycloak-events-ingest' });
    let inFlight = Promise.resolve();
    const sub = deps.nats.subscribe(subjects.hub.keycloakEventsWildcard, {
      queue: `${subjects.hubQueue}-events`,
      callback: (err, msg) => {
        if (err) return;
        const hostId = msg.subject.split('.')[3] ?? '';
        const refuse = (reason: string) => {
          msg.respond(encode(messages.rejection, { kind: 'rejection', reason }));
        };
        let batch: KeycloakEvents;
        try {
          batch = decode(messages.keycloakEvents, msg.data);
        } catch (e) {
          return refuse(e instanceof DecodeError ? `malformed events batch: ${e.reason}` : 'malformed events batch');
        }
        // The subject is the authenticated sender (NATS permissions); the body must agree.
        if (batch.hostId !== hostId) return refuse('the batch names another host');
        const store = async () => {
          try {
            const stored = await storeKeycloakEvents(deps.db, hostId, batch.events);
            msg.respond(encode(messages.eventsAck, { kind: 'events.ack', stored }));
          } catch (e) {
            log.warn({ err: e, hostId, events: batch.events.length }, 'could not store Keycloak events; the agent sends them again');
            refuse('the hub could not store the events now');
          }
        };
        // One batch at a time per hub: the database is the bottleneck, and order keeps the log readable.
        inFlight = inFlight.then(store);
      },
    });
    return {
      async stop() {
        sub.unsubscribe();
        await inFlight;
      },
    };
  },
};
