import type { HubFeature } from '../../hub-feature.js';
import { agentsProjections } from './agents-projections.js';
import { agentsRoutes } from './agents-routes.js';
import * as m0030 from './migrations/0030-agent-upgrades.js';

/** The agent itself as a product: its artifact and installer, hosts leaving, fleet upgrades. */
export const agentsFeature: HubFeature = {
  name: 'agents',
  migrations: { '0030-agent-upgrades': m0030 },
  projections: agentsProjections,
  routes: agentsRoutes,
};
