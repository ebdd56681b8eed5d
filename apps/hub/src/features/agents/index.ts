import type { HubFeature } from '../../hub-feature.js';
import { agentsRoutes } from './agents-routes.js';

/** The agent itself as a product: its artifact and installer, hosts leaving, fleet upgrades. */
export const agentsFeature: HubFeature = {
  name: 'agents',
  routes: agentsRoutes,
};
