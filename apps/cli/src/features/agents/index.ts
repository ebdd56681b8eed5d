import type { CliFeature } from '../../cli-feature.js';
import { agentsCommand } from './agents-command.js';
import { agentsHostFacts } from './agents-host-facts.js';
import { tokenInstallExtras } from './token-install-extras.js';

/** The agent as a product: the install command of `tokens create --install`, versions and fleet upgrades. */
export const agentsCliFeature: CliFeature = {
  name: 'agents',
  commands: () => [agentsCommand()],
  hostFacts: agentsHostFacts,
  tokenExtras: tokenInstallExtras,
};
