import type { CliFeature } from '../../cli-feature.js';
import { certsCommand } from './certs-command.js';

/** `keyfleet certs …`: certificates the hub issues, installs and renews for hosts. */
export const tlsCliFeature: CliFeature = {
  name: 'tls',
  commands: () => [certsCommand()],
};
