import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { ageRecipient, backupId, bytesText, uploadTarget } from './backup-common.js';

export const backupRun = defineTask({
  name: 'backup.run',
  description:
    'Backs up this host’s Keycloak (pg_dump -Fc of its database, config, providers, themes, TLS material and a manifest) as one tar stream, age-encrypted to the given recipients, to a single-use upload target.',
  input: z
    .object({
      backupId,
      recipients: z.array(ageRecipient).min(1, 'at least one backup recipient (keyfleet backup-keys add)'),
      upload: uploadTarget,
    })
    .strict(),
  output: z.object({
    backupId,
    sizeBytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    durationMs: z.number().nonnegative(),
    dumpBytes: z.number().int().nonnegative(),
    files: z.number().int().nonnegative(),
    realms: z.array(z.object({ realm: z.string(), users: z.number().int() })),
    /** Highest resident memory of the agent process seen while the backup ran. */
    peakRssBytes: z.number().int().nonnegative().optional(),
  }),
  defaultTimeoutMs: 2 * 3600_000,
  summary: (o) =>
    `stored ${o.backupId}: ${bytesText(o.sizeBytes)} encrypted (dump ${bytesText(o.dumpBytes)}, ${o.files} files, ${o.realms.length} realms) in ${(o.durationMs / 1000).toFixed(1)}s`,
});
