import type { TaskHandler } from '../../../task-handler.js';
import type { HardeningHost } from '../hardening-host.js';
import { maintenanceKeycloakVersion } from './maintenance-keycloak-version.js';
import { maintenanceLogs } from './maintenance-logs.js';
import { maintenanceScan } from './maintenance-scan.js';
import { maintenanceUpdates } from './maintenance-updates.js';

/** The maintenance tasks over this host: OS updates, the Lynis scan, the Keycloak version check, log rotation. */
export function maintenanceHandlers(host: HardeningHost): {
  'maintenance.updates': TaskHandler<'maintenance.updates'>;
  'maintenance.scan': TaskHandler<'maintenance.scan'>;
  'maintenance.keycloak-version': TaskHandler<'maintenance.keycloak-version'>;
  'maintenance.logs': TaskHandler<'maintenance.logs'>;
} {
  return {
    'maintenance.updates': maintenanceUpdates(host),
    'maintenance.scan': maintenanceScan(host),
    'maintenance.keycloak-version': maintenanceKeycloakVersion,
    'maintenance.logs': maintenanceLogs,
  };
}
