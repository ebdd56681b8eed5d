import { defineFeature } from '../../agent-feature.js';
import { installCommands } from './install/install-commands.js';
import { agentUpgrade } from './upgrade/agent-upgrade.js';
import { upgradeCommands } from './upgrade/upgrade-commands.js';
import { upgradeService } from './upgrade/upgrade-service.js';

/** The agent as a product on its host: installing and removing itself, its supervisor, upgrades. */
export const agentsFeature = defineFeature({
  name: 'agents',
  handlers: { 'agent.upgrade': agentUpgrade },
  services: [upgradeService],
  commands: (program) => {
    installCommands(program);
    upgradeCommands(program);
  },
});
