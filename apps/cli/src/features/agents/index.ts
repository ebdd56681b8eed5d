import type { CliFeature } from '../../cli-feature.js';
import { tokenInstallExtras } from './token-install-extras.js';

/** The agent as a product: the install command of `tokens create --install`, fleet upgrades. */
export const agentsCliFeature: CliFeature = {
  name: 'agents',
  commands: () => [],
  tokenExtras: tokenInstallExtras,
};
