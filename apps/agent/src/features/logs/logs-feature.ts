import { defineFeature } from '../../agent-feature.js';
import { logsService } from './logs-service.js';

/** Keycloak's log and the agent's own, tailed and sent to the hub; no task types. */
export const logsFeature = defineFeature({
  name: 'logs',
  handlers: {},
  services: [logsService],
});
