import { loadInstance } from '../../keycloak/index.js';
import type { TaskHandler } from '../../../task-handler.js';

/** Whether `version` (26.4.7) is one of `allowed`: 26.4.7 exactly, 26.4.x (or 26.4) a minor line, 26.x (or 26) a major one. */
export function versionAllowed(version: string, allowed: readonly string[]): boolean {
  const parts = version.split('.');
  return allowed.some((a) => a.split('.').every((w, i) => w === 'x' || w === parts[i]));
}

/** The installed Keycloak's version (the agent's instance record) against the versions the operator allows. */
export const maintenanceKeycloakVersion: TaskHandler<'maintenance.keycloak-version'> = async (input, ctx) => {
  const version = (await loadInstance(ctx.stateDir))?.version ?? null;
  return {
    checkedAt: new Date().toISOString(),
    version,
    allowed: input.allowed,
    status: version === null ? 'not-installed' : versionAllowed(version, input.allowed) ? 'allowed' : 'not-allowed',
  };
};
