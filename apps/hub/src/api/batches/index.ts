import { createRoute, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { noteAudit } from '../note-audit.js';
import { CancelOutcomeSchema, cancelTasks } from '../tasks/cancel-tasks.js';
import { eventStreamResponses, streamTaskEvents } from '../tasks/stream-task-events.js';
import { BatchSchema, TaskSchema, batchView, taskView } from '../tasks/task-view.js';

const IdParam = z.object({ id: z.string().min(1).max(64) });

const get = createRoute({
  method: 'get',
  path: '/batches/{id}',
  summary: 'A batch with its tasks and counts by state',
  request: { params: IdParam },
  responses: {
    200: {
      description: 'Batch',
      content: {
        'application/json': {
          schema: z
            .object({ batch: BatchSchema, tasks: z.array(TaskSchema), counts: z.record(z.string(), z.number()).openapi({ description: 'tasks per state' }) })
            .openapi('BatchDetail'),
        },
      },
    },
    ...errorResponses(401, 403, 404),
  },
});

const cancel = createRoute({
  method: 'post',
  path: '/batches/{id}/cancel',
  summary: 'Cancel every unfinished task of a batch',
  request: { params: IdParam },
  responses: {
    200: { description: 'Cancel outcome', content: { 'application/json': { schema: CancelOutcomeSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

const events = createRoute({
  method: 'get',
  path: '/batches/{id}/events',
  summary: 'Server-sent events of every task of a batch, then `end` once all are terminal',
  description: 'text/event-stream. Each event’s data is JSON {id, taskId, batchId, hostId, kind, data, at}. Resumes after the Last-Event-ID header.',
  request: { params: IdParam },
  responses: {
    ...eventStreamResponses,
    ...errorResponses(401, 403, 404),
  },
});

export function batchesRoutes(deps: ApiDeps) {
  const { db, dispatcher } = deps;
  const guard = createGuard(db);
  const requireBatch = async (id: string) => {
    const batch = await db.selectFrom('task_batches').selectAll().where('id', '=', id).executeTakeFirst();
    if (!batch) throw new ApiError(404, `batch ${id} not found`);
    return batch;
  };
  return createRouter()
    .openapi({ ...get, middleware: [guard('viewer', 'batches.get')] }, async (c) => {
      const batch = await requireBatch(c.req.valid('param').id);
      const tasks = await db.selectFrom('tasks').selectAll().where('batch_id', '=', batch.id).orderBy('id').execute();
      const counts: Record<string, number> = {};
      for (const t of tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
      return c.json({ batch: batchView(batch), tasks: tasks.map(taskView), counts }, 200);
    })
    .openapi({ ...cancel, middleware: [guard('operator', 'batches.cancel')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      await requireBatch(id);
      const outcome = await cancelTasks(db, dispatcher, { batchId: id }, `cancelled by ${c.get('actor')?.label ?? 'unknown'}`);
      noteAudit(c, { detail: { cancelled: outcome.cancelled.length, cancelling: outcome.cancelling.length } });
      return c.json(outcome, 200);
    })
    .openapi({ ...events, middleware: [guard('viewer', 'batches.events')] }, async (c) => {
      const batch = await requireBatch(c.req.valid('param').id);
      return streamTaskEvents(c, deps, { batchId: batch.id });
    });
}
