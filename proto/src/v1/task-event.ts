import { z } from 'zod';
import { taskState } from './task-state.js';

const common = {
  /** Position in the stream; resume after it with Last-Event-ID. */
  id: z.number().int().positive(),
  taskId: z.string(),
  batchId: z.string(),
  hostId: z.string(),
  at: z.iso.datetime({ offset: true }),
};

/**
 * One event of `GET /v1/tasks/{id}/events` or `/v1/batches/{id}/events` (SSE `data`,
 * with the SSE event name equal to `kind`). The stream ends with `taskStreamEnd`.
 */
export const taskEvent = z.discriminatedUnion('kind', [
  z.object({
    ...common,
    kind: z.literal('state'),
    data: z.object({ state: taskState, error: z.object({ code: z.string(), message: z.string() }).optional() }),
  }),
  z.object({
    ...common,
    kind: z.literal('progress'),
    data: z.object({
      percent: z.number().min(0).max(100).optional(),
      message: z.string().optional(),
      /** Bytes moved so far and, when known, of how many (streaming tasks: backups, restores). */
      bytes: z.number().int().nonnegative().optional(),
      totalBytes: z.number().int().nonnegative().optional(),
    }),
  }),
]);

export type TaskEvent = z.infer<typeof taskEvent>;

/** The last event of a stream (SSE event `end`): every task in scope is terminal; counts per state. */
export const taskStreamEnd = z.object({ states: z.partialRecord(taskState, z.number().int().nonnegative()) });

export type TaskStreamEnd = z.infer<typeof taskStreamEnd>;
