import { defineFeature } from '../../agent-feature.js';
import { lazyHandler } from '../../lazy-handler.js';
import { installCommands } from './install/install-commands.js';
import { upgradeCommands } from './upgrade/upgrade-commands.js';
import { staleChunksService } from './upgrade/stale-chunks-service.js';
import { upgradeService } from './upgrade/upgrade-service.js';

/** The agent as a product on its host: installing and removing itself, its supervisor, upgrades. */
export const agentsFeature = defineFeature({
  name: 'agents',
  handlers: { 'agent.upgrade': lazyHandler(() => import('./upgrade/agent-upgrade.js').then((m) => m.agentUpgrade)) },
  services: [upgradeService, staleChunksService],
  commands: (program) => {
    installCommands(program);
    upgradeCommands(program);
  },
});
