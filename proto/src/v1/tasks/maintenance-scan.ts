import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { describeHardening, hardeningReport } from './hardening-common.js';

export const maintenanceScan = defineTask({
  name: 'maintenance.scan',
  description:
    'Runs a Lynis security scan of the host (audit system, read-only) and reports its tests as pass / fail findings with evidence, in the hardening report format, with Lynis’ hardening index.',
  input: z
    .object({
      /** Only these Lynis test groups (e.g. ssh, firewalls, kernel; `lynis show groups`); every group when empty. */
      groups: z
        .array(z.string().regex(/^[a-z_]{2,32}$/, 'a Lynis test group like ssh'))
        .max(50)
        .default([]),
      /** Lynis test ids to leave out (e.g. KRNL-5830), with the operator's reason kept in the report. */
      skip: z
        .array(z.object({ test: z.string().regex(/^[A-Z]{3,5}-\d{4}$/, 'a Lynis test id like SSH-7408'), reason: z.string().min(1).max(500) }).strict())
        .max(200)
        .default([]),
    })
    .strict(),
  output: hardeningReport.extend({
    lynisVersion: z.string(),
    /** Lynis' own 0–100 hardening index. */
    hardeningIndex: z.number().min(0).max(100).optional(),
    testsPerformed: z.number().int().nonnegative(),
    durationMs: z.number().int().nonnegative(),
  }),
  defaultTimeoutMs: 20 * 60_000,
  summary: (o) => `lynis ${o.lynisVersion}: index ${o.hardeningIndex ?? '?'}, ${o.testsPerformed} tests; ${describeHardening(o)}`,
});
