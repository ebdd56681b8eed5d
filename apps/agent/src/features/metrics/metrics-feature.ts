import { defineFeature } from '../../agent-feature.js';
import { metricsService } from './metrics-service.js';

/** Host and Keycloak metrics, pushed to the hub as samples; no task types of its own. */
export const metricsFeature = defineFeature({
  name: 'metrics',
  handlers: {},
  services: [metricsService],
});
