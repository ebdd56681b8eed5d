import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { describeHardening, hardeningChange, hardeningReport, hardeningRuleId, hardeningSelection } from './hardening-common.js';
import { hardeningRollbackId } from './hardening-rollback.js';

export const hardeningApply = defineTask({
  name: 'hardening.apply',
  description:
    'Fixes the failing rules of a hardening profile (all, or those named), saving what it changed for hardening.rollback; with dryRun only reports exactly what it would change.',
  input: hardeningSelection.extend({
    /** Only these rules (each must be failing to change anything); default: every failing rule. */
    rules: z.array(hardeningRuleId).max(100).optional(),
    dryRun: z.boolean().default(false),
  }),
  output: z.object({
    dryRun: z.boolean(),
    /** What was (or, dry run, would be) changed, rule by rule. */
    changes: z.array(hardeningChange.extend({ rule: hardeningRuleId })),
    /** Rules that were not applied, and why (refused by a guard, reverted by the dead-man switch, failed). */
    refused: z.array(z.object({ rule: hardeningRuleId, reason: z.string() })),
    /** The id hardening.rollback takes; absent on a dry run or when nothing changed. */
    rollbackId: hardeningRollbackId.optional(),
    /** The audit after applying (before, on a dry run). */
    report: hardeningReport,
  }),
  defaultTimeoutMs: 15 * 60_000,
  summary: (o) =>
    `${o.dryRun ? 'would change' : 'changed'} ${o.changes.length}` +
    (o.refused.length ? `, refused ${o.refused.map((r) => r.rule).join(', ')}` : '') +
    (o.rollbackId ? ` (rollback ${o.rollbackId})` : '') +
    `; ${describeHardening(o.report)}`,
});
