import { z } from '@hono/zod-openapi';
import * as v1 from '@keyfleet/proto/v1';
import { ApiError } from '../../../api/api-error.js';
import { describeIssues } from '../../../api/describe-issues.js';
import { collectSecretRefs } from '../../../secrets/collect-secret-refs.js';

/** A task schedule's task: any declared type, with params its input schema accepts. */
export const ScheduleTaskSchema = z
  .object({
    type: z.string().min(1).max(100).openapi({ example: 'hardening.audit' }),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .openapi('ScheduleTask');

/**
 * Refuses (400) a task a schedule could never start: an unknown type, params its input schema
 * rejects, or a secret value inline. Checked when the schedule is created, so a typo is an
 * answer to the operator now rather than a failed unit at 3 a.m. The stored params are the
 * operator's (not the parsed ones), so a default that changes later applies to later runs.
 */
export function checkScheduleTask(task: z.output<typeof ScheduleTaskSchema>): void {
  if (!v1.isTaskName(task.type)) throw new ApiError(400, `unknown task type "${task.type}"; known types: ${Object.keys(v1.taskDefinitions).join(', ')}`);
  const inline = collectSecretRefs(task.params).filter((r) => r.hasValue);
  if (inline.length > 0)
    throw new ApiError(
      400,
      `secret values are never stored in a schedule; store them with PUT /v1/secrets/{name} (at ${inline.map((r) => `task.params.${r.path}`).join(', ')})`,
    );
  const parsed = v1.taskDefinitions[task.type].input.safeParse(task.params);
  if (!parsed.success) throw new ApiError(400, `invalid params for ${task.type}: ${describeIssues(parsed.error)}`);
}
