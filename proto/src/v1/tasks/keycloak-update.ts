import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { describeInstance, describeVerification, keycloakInstance, verifyReport } from './keycloak-common.js';
import { keycloakConfig } from './keycloak-install.js';

export const keycloakUpdate = defineTask({
  name: 'keycloak.update',
  description:
    'Moves Keycloak to a new version or config: pre-update backup (new version), compatibility check, new instance beside the old one or after it (recreate), verify, switch; on failure rolls back, the pre-update database included.',
  input: keycloakConfig,
  output: z.object({
    // A rolled-back update is a failed task whose error says "update rolled back: <why>" (a version
    // upgrade: "upgrade to X failed: <why>; rolled back to Y, verified"), not an outcome.
    outcome: z.enum(['updated', 'unchanged']),
    instance: keycloakInstance,
    verify: verifyReport.optional(),
    timeline: z.array(z.object({ at: z.iso.datetime(), step: z.string(), detail: z.string().optional() })),
    /** The version before and after (equal for a config change). */
    fromVersion: z.string().optional(),
    toVersion: z.string().optional(),
    /** What `kc.sh update-compatibility check` said: a rolling update possible, recreate needed, or a Keycloak without the command. */
    compatibility: z.enum(['rolling', 'recreate', 'unavailable']).optional(),
    /** A version upgrade's pre-update backup unit: its catalog id, or why there is none (e.g. a dev-file database). */
    preUpdateBackup: z.object({ backupId: z.string().optional(), detail: z.string() }).optional(),
    /** Always false in a result: a rolled-back update fails its task (see above). */
    rolledBack: z.boolean().optional(),
  }),
  defaultTimeoutMs: 20 * 60_000,
  summary: (o) => {
    const upgrade =
      o.fromVersion && o.toVersion && o.fromVersion !== o.toVersion
        ? `${o.fromVersion} → ${o.toVersion} (${[o.compatibility, o.preUpdateBackup && (o.preUpdateBackup.backupId ? `backup ${o.preUpdateBackup.backupId}` : `no backup: ${o.preUpdateBackup.detail}`)].filter(Boolean).join('; ')})`
        : undefined;
    return [`${o.outcome}${upgrade ? ` ${upgrade}` : ''}: ${describeInstance(o.instance)}`, o.verify && describeVerification(o.verify)]
      .filter(Boolean)
      .join('; ');
  },
});
