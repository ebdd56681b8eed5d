import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { secretRef } from '../secret-ref.js';
import { ageRecipient, backupExportId, backupId, downloadSource, scratchDatabase, uploadTarget } from './backup-common.js';

const drillCheck = z.object({ name: z.string(), ok: z.boolean(), detail: z.string().max(2000) });

export const backupDrill = defineTask({
  name: 'backup.drill',
  description:
    'Proves a backup restores: fetches and decrypts it, checks every checksum, restores the dump into a scratch Postgres database, compares realms, counts and signing key ids with the manifest, boots a scratch Keycloak of the backup’s version on it (loopback only; the drill host needs that version installed, process runtime) where drill clients obtain tokens signed with the backed-up keys, then tears it all down.',
  input: z
    .object({
      backupId,
      download: downloadSource,
      /** The age identity (AGE-SECRET-KEY-1…) that opens the backup: a secret of the hub, given to this drill host only. */
      identity: secretRef,
      scratch: scratchDatabase,
      /**
       * `skip`: a database-level drill (checksums, restore, counts, key ids) without booting
       * Keycloak, for a drill host that has no Keycloak of the backup's version (the hub's host).
       * The checks then say so; absent means `boot`.
       */
      keycloak: z.enum(['boot', 'skip']).optional(),
      /** The ciphertext's sha256 as the catalog has it; checked before anything is trusted. */
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** The dump's size from the catalog's manifest: what the drill's progress counts towards (the manifest is the tar's last entry). */
      dumpBytes: z.number().int().nonnegative().optional(),
      /**
       * A byproduct on request: once tokens are proven, `kc.sh export` (realms with their users)
       * against the scratch database, tar → age to these recipients → the one object of this
       * single-use upload target. The verdict does not depend on it.
       */
      export: z
        .object({ exportId: backupExportId, recipients: z.array(ageRecipient).min(1), upload: uploadTarget })
        .strict()
        .optional(),
    })
    .strict(),
  output: z.object({
    backupId,
    ok: z.boolean(),
    /** Download + decrypt + pg_restore, the measured restore time (RTO of the database). */
    restoreMs: z.number().nonnegative(),
    /** Until the scratch Keycloak on the restored database issued tokens: the measured RTO. Absent when it did not. */
    rtoMs: z.number().nonnegative().optional(),
    /** The scratch Keycloak: its version, its start until ready, and per realm the `kid` that signed the drill client's token. */
    keycloak: z.object({ version: z.string(), readyMs: z.number().nonnegative(), tokenKids: z.record(z.string(), z.string()) }).optional(),
    checks: z.array(drillCheck),
    /** The realm export, when one was asked for: stored (its size, sha256 and realms) or why not. */
    export: z
      .object({
        exportId: backupExportId,
        ok: z.boolean(),
        sizeBytes: z.number().int().nonnegative().optional(),
        realms: z.array(z.string()).optional(),
        error: z.string().max(2000).optional(),
      })
      .optional(),
  }),
  defaultTimeoutMs: 2 * 3600_000,
  summary: (o) =>
    `${o.ok ? 'verified' : 'FAILED'} ${o.backupId}: database restored in ${(o.restoreMs / 1000).toFixed(1)}s${o.rtoMs === undefined ? '' : `, Keycloak serving tokens after ${(o.rtoMs / 1000).toFixed(1)}s (RTO)`}; ${o.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ')}${o.export ? `; realm export ${o.export.ok ? `${o.export.exportId} stored` : `FAILED: ${o.export.error ?? ''}`}` : ''}`,
});
