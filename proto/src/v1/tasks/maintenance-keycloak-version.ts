import { z } from 'zod';
import { defineTask } from '../define-task.js';

/** `26.4.7` exactly, or `26.4.x` / `26.x` for every patch or minor of a line. */
export const allowedVersion = z.string().regex(/^\d+(\.(\d+|x)){0,2}$/, 'a version like 26.4.7, 26.4.x or 26.x');

export const maintenanceKeycloakVersion = defineTask({
  name: 'maintenance.keycloak-version',
  description: 'Checks the installed Keycloak’s version against the versions the operator allows.',
  input: z.object({ allowed: z.array(allowedVersion).min(1).max(50) }).strict(),
  output: z.object({
    checkedAt: z.iso.datetime(),
    /** The installed version; null when this agent installed no Keycloak. */
    version: z.string().nullable(),
    allowed: z.array(z.string()),
    status: z.enum(['allowed', 'not-allowed', 'not-installed']),
  }),
  defaultTimeoutMs: 30_000,
  summary: (o) =>
    o.status === 'not-installed'
      ? 'no Keycloak installed'
      : `Keycloak ${o.version} ${o.status === 'allowed' ? 'is' : 'is NOT'} allowed (${o.allowed.join(', ')})`,
});
