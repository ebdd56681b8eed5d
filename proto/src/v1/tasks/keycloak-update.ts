import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { describeInstance, describeVerification, keycloakInstance, verifyReport } from './keycloak-common.js';
import { keycloakConfig } from './keycloak-install.js';

export const keycloakUpdate = defineTask({
  name: 'keycloak.update',
  description:
    'Moves Keycloak to a new version or config: compatibility check, pre-update hook, new instance beside the old one (docker), verify, switch, stop the old one; rolls back on failure.',
  input: keycloakConfig,
  output: z.object({
    // A rolled-back update is a failed task whose error says "update rolled back: <why>", not an outcome.
    outcome: z.enum(['updated', 'unchanged']),
    instance: keycloakInstance,
    verify: verifyReport.optional(),
    timeline: z.array(z.object({ at: z.iso.datetime(), step: z.string(), detail: z.string().optional() })),
  }),
  defaultTimeoutMs: 20 * 60_000,
  summary: (o) => [`${o.outcome}: ${describeInstance(o.instance)}`, o.verify && describeVerification(o.verify)].filter(Boolean).join('; '),
});
