import { z } from 'zod';
import { defineTask } from '../define-task.js';

export const maintenanceLogs = defineTask({
  name: 'maintenance.logs',
  description:
    'Rotates the agent’s and Keycloak’s log files (the *.log files of the agent’s state dir and its keycloak dir) that passed a size: copied to name.1.gz (older copies shifted, at most `keep`), then truncated in place, so their writers and the log shipper keep going.',
  input: z
    .object({
      /** A file is rotated once it is larger than this. */
      maxBytes: z
        .number()
        .int()
        .min(1024)
        .default(50 * 1024 * 1024),
      /** Compressed copies kept per file (name.1.gz newest … name.N.gz). */
      keep: z.number().int().min(1).max(100).default(5),
    })
    .strict(),
  output: z.object({
    checkedAt: z.iso.datetime(),
    files: z.array(
      z.object({
        path: z.string(),
        /** Its size before rotation. */
        bytes: z.number().int().nonnegative(),
        rotated: z.boolean(),
        /** Compressed copies there now. */
        copies: z.number().int().nonnegative(),
      }),
    ),
    /** Bytes the rotated files gave back (their size less their compressed copy). */
    freedBytes: z.number().int().nonnegative(),
  }),
  defaultTimeoutMs: 10 * 60_000,
  summary: (o) => `${o.files.filter((f) => f.rotated).length} of ${o.files.length} log files rotated, ${Math.round(o.freedBytes / 1024 / 1024)} MiB freed`,
});
