import type { FeatureService } from '../../agent-feature.js';
import { scratchLeftovers } from './scratch-leftovers.js';

/**
 * At the agent's start, before any task: a scratch Keycloak that a restore drill left running
 * when the agent died mid-drill (and its data dir) goes, so it holds neither memory, loopback
 * ports nor connections to the scratch database until the host reboots.
 */
export const scratchReaper: FeatureService = {
  name: 'scratch-keycloak-reaper',
  async start(ctx) {
    await scratchLeftovers.reap(ctx.stateDir, ctx.log);
    return { stop: async () => undefined };
  },
};
