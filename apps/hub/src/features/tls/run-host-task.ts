import { type TaskDefinitions, type TaskName, taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';
import type { ApiDeps } from '../../api/api-deps.js';
import { createTaskBatch } from '../../api/tasks/create-task-batch.js';

const POLL_MS = 250;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

/**
 * Runs one declared task on one host through the ordinary task pipeline (validated, journaled,
 * visible in `tasks list`, audited by its creator `tls`) and waits for its end. Resolves with the
 * parsed output; a task that did not succeed rejects with the agent's reason.
 */
export async function runHostTask<K extends TaskName>(
  deps: Pick<ApiDeps, 'db' | 'dispatcher'>,
  hostId: string,
  type: K,
  params: z.input<TaskDefinitions[K]['input']>,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<z.output<TaskDefinitions[K]['output']>> {
  const timeoutMs = opts.timeoutMs ?? taskDefinitions[type].defaultTimeoutMs;
  // An offline host's task waits one timeout for the host, then expires visibly.
  const { tasks } = await createTaskBatch(deps.db, { type, target: { hostId }, params, timeoutMs, expiresInMs: timeoutMs, createdBy: 'tls' });
  const taskId = tasks[0]!.id;
  deps.dispatcher.kick();
  for (;;) {
    opts.signal?.throwIfAborted();
    const t = await deps.db.selectFrom('tasks').select(['state', 'output', 'error']).where('id', '=', taskId).executeTakeFirstOrThrow();
    if (TERMINAL.has(t.state)) {
      if (t.state !== 'succeeded') throw new Error(`${type} on the host ${t.state}: ${t.error?.message ?? 'no reason given'} (task ${taskId})`);
      return taskDefinitions[type].output.parse(t.output) as z.output<TaskDefinitions[K]['output']>;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
