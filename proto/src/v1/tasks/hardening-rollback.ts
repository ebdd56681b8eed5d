import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { describeHardening, hardeningReport, hardeningRuleId } from './hardening-common.js';

/** A rollback id as hardening.apply reports it (also a file name on the host). */
export const hardeningRollbackId = z.string().regex(/^hr_[0-9a-z]{8,40}$/, 'a rollback id like hr_…');

export const hardeningRollback = defineTask({
  name: 'hardening.rollback',
  description: 'Puts back what a hardening.apply changed (the last one by default), from the before-state it saved on the host.',
  input: z.object({ rollbackId: hardeningRollbackId.optional() }).strict(),
  output: z.object({
    rollbackId: hardeningRollbackId,
    restored: z.array(hardeningRuleId),
    report: hardeningReport,
  }),
  defaultTimeoutMs: 5 * 60_000,
  summary: (o) => `rolled back ${o.rollbackId} (${o.restored.join(', ') || 'nothing'}); ${describeHardening(o.report)}`,
});
