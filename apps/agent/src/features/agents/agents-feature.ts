import { defineFeature } from '../../agent-feature.js';
import { installCommands } from './install/install-commands.js';

/** The agent as a product on its host: installing and removing itself, its supervisor, upgrades. */
export const agentsFeature = defineFeature({
  name: 'agents',
  handlers: {},
  commands: (program) => installCommands(program),
});
