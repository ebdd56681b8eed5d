import { z } from '@hono/zod-openapi';
import { verifyReport } from '@keyfleet/proto/v1';

/** A host's Keycloak as its last Keycloak task reported it: the read model's one declaration (table and API). */
export const HostKeycloakSchema = z
  .discriminatedUnion('installed', [
    z.object({
      installed: z.literal(true),
      version: z.string(),
      runtime: z.enum(['docker', 'process']),
      ready: z.boolean(),
      baseUrl: z.string(),
      realms: z.array(z.string()),
      uptimeSec: z.number().optional(),
      /** When the reporting task finished; older reports never overwrite newer ones. */
      updatedAt: z.string(),
      taskId: z.string(),
    }),
    z.object({ installed: z.literal(false), updatedAt: z.string(), taskId: z.string() }),
  ])
  .openapi('HostKeycloak', { description: 'what the last Keycloak task reported; null until one did' });

/** The last `keycloak.verify` outcome (also run by install and update). */
export const HostVerificationSchema = z
  .object({
    ok: z.boolean(),
    checkedAt: z.string(),
    checks: verifyReport.shape.checks,
    error: z.string().optional().openapi({ description: 'set when the verifying task failed: the agent’s error' }),
    taskId: z.string(),
  })
  .openapi('HostVerification', { description: 'the last keycloak.verify outcome (also run by install and update)' });

export type HostKeycloak = z.infer<typeof HostKeycloakSchema>;
export type HostVerification = z.infer<typeof HostVerificationSchema>;
