import { z } from '@hono/zod-openapi';
import { isTaskName, taskDefinitions, taskState } from '@keyfleet/proto/v1';
import type { Selectable } from 'kysely';
import type { TaskBatchesTable, TasksTable } from '../../store/database.js';
import { toIso } from '../to-iso.js';

export const TaskStateSchema = z.enum(taskState.options).openapi('TaskState');

export const TaskSchema = z
  .object({
    id: z.string(),
    batchId: z.string(),
    hostId: z.string(),
    type: z.string(),
    params: z.unknown(),
    state: TaskStateSchema,
    timeoutMs: z.number(),
    createdAt: z.string(),
    expiresAt: z.string(),
    dispatchedAt: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    cancelRequestedAt: z.string().nullable(),
    dispatchAttempts: z.number(),
    progress: z
      .object({ percent: z.number().optional(), message: z.string().optional(), bytes: z.number().optional(), totalBytes: z.number().optional() })
      .nullable(),
    output: z.unknown(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    summary: z.string().nullable().openapi({ description: 'one line for tables: the declared summary of a succeeded output, or the error' }),
  })
  .openapi('Task');

export const BatchSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    params: z.unknown(),
    target: z.record(z.string(), z.unknown()).openapi({ description: '{kind:"host",hostId} | {kind:"labels",labels} | {kind:"all"}' }),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .openapi('Batch');

export function taskView(t: Selectable<TasksTable>) {
  return {
    id: t.id,
    batchId: t.batch_id,
    hostId: t.host_id,
    type: t.type,
    params: t.params,
    state: t.state,
    timeoutMs: t.timeout_ms,
    createdAt: toIso(t.created_at),
    expiresAt: toIso(t.expires_at),
    dispatchedAt: toIso(t.dispatched_at),
    startedAt: toIso(t.started_at),
    finishedAt: toIso(t.finished_at),
    cancelRequestedAt: toIso(t.cancel_requested_at),
    dispatchAttempts: t.dispatch_attempts,
    progress: t.progress,
    output: t.output,
    error: t.error,
    summary: summarize(t),
  };
}

/** What a finished task says in one line; null while it runs. */
function summarize(t: Selectable<TasksTable>): string | null {
  if (t.error) return `${t.error.code}: ${t.error.message.split('\n')[0]}`;
  if (t.state !== 'succeeded') return t.state === 'expired' || t.state === 'cancelled' ? t.state : null;
  if (!isTaskName(t.type)) return null;
  const def = taskDefinitions[t.type];
  const parsed = def.output.safeParse(t.output);
  // The declaration's summary is typed for its own output; the registry pairs them.
  return parsed.success ? (def.summary as (o: unknown) => string)(parsed.data) : 'output does not match the declaration';
}

export function batchView(b: Selectable<TaskBatchesTable>) {
  return { id: b.id, type: b.type, params: b.params, target: b.target, createdBy: b.created_by, createdAt: toIso(b.created_at) };
}
