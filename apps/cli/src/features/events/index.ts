import type { CliFeature } from '../../cli-feature.js';
import { auditCommand } from './audit-command.js';

/** `keyfleet audit`: the joined audit trail of the hub and every managed Keycloak. */
export const eventsCliFeature: CliFeature = {
  name: 'events',
  commands: () => [auditCommand()],
};
