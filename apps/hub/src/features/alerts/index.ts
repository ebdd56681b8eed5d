import type { HubFeature } from '../../hub-feature.js';
import { alertDelivery } from './alert-delivery.js';
import { alertEvaluator } from './alert-evaluator.js';
import { alertsRoutes } from './alerts-routes.js';
import * as m0041 from './migrations/0041-alerts.js';
import * as m0042 from './migrations/0042-alert-channel-state.js';
import * as m0043 from './migrations/0043-alert-slack-channels.js';
import * as m0044 from './migrations/0044-alert-repeats.js';

export type { AlertsRoutes } from './alerts-routes.js';

/** Alerts: rules as data, evaluation on incoming samples and heartbeats, lifecycle, delivery to webhooks, Slack and email. */
export const alertsFeature: HubFeature = {
  name: 'alerts',
  migrations: { '0041-alerts': m0041, '0042-alert-channel-state': m0042, '0043-alert-slack-channels': m0043, '0044-alert-repeats': m0044 },
  routes: alertsRoutes,
  services: [alertEvaluator, alertDelivery],
};
