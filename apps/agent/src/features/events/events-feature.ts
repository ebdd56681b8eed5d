import { defineFeature } from '../../agent-feature.js';
import { keycloakEventsService } from './keycloak-events-service.js';

/** Keycloak's login and admin events, pulled and sent to the hub for the audit trail; no task types. */
export const eventsFeature = defineFeature({
  name: 'events',
  handlers: {},
  services: [keycloakEventsService],
});
