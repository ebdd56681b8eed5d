import { z } from '@hono/zod-openapi';
import { taskDefinitions } from '@keyfleet/proto/v1';

/** A host's hardening report as the agent's last audit, apply or rollback returned it. */
export const HardeningReportSchema = taskDefinitions['hardening.audit'].output;
export type HardeningReport = z.infer<typeof HardeningReportSchema>;

/** One rule whose status differs from the report before (`from` null: the rule is new to this host's reports). */
export const RuleStatusChangeSchema = z.object({ rule: z.string(), from: z.string().nullable(), to: z.string() }).openapi('HardeningStatusChange');
export type RuleStatusChange = z.infer<typeof RuleStatusChangeSchema>;

export const HardeningEventSchema = z
  .object({
    at: z.string(),
    cause: z.string().openapi({ description: 'hardening.audit: drift seen by an audit; hardening.apply / hardening.rollback: an operator’s change' }),
    taskId: z.string(),
    changes: z.array(RuleStatusChangeSchema),
  })
  .openapi('HardeningEvent');
