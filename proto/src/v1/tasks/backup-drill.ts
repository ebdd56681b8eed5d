import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { secretRef } from '../secret-ref.js';
import { backupId, downloadSource, scratchDatabase } from './backup-common.js';

const drillCheck = z.object({ name: z.string(), ok: z.boolean(), detail: z.string().max(2000) });

export const backupDrill = defineTask({
  name: 'backup.drill',
  description:
    'Proves a backup restores: fetches and decrypts it, checks every checksum, restores the dump into a scratch Postgres database, compares realms, counts and signing key ids with the manifest, then drops the scratch database.',
  input: z
    .object({
      backupId,
      download: downloadSource,
      /** The age identity (AGE-SECRET-KEY-1…) that opens the backup: a secret of the hub, given to this drill host only. */
      identity: secretRef,
      scratch: scratchDatabase,
      /** The ciphertext's sha256 as the catalog has it; checked before anything is trusted. */
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    })
    .strict(),
  output: z.object({
    backupId,
    ok: z.boolean(),
    /** Download + decrypt + pg_restore, the measured restore time (RTO of the database). */
    restoreMs: z.number().nonnegative(),
    checks: z.array(drillCheck),
  }),
  defaultTimeoutMs: 2 * 3600_000,
  summary: (o) =>
    `${o.ok ? 'verified' : 'FAILED'} ${o.backupId}: restored in ${(o.restoreMs / 1000).toFixed(1)}s; ${o.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ')}`,
});
