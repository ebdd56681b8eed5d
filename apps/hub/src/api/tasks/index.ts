import { createRoute, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { noteAudit } from '../note-audit.js';
import { CancelOutcomeSchema, cancelTasks } from './cancel-tasks.js';
import { createTaskBatch } from './create-task-batch.js';
import { eventStreamResponses, streamTaskEvents } from './stream-task-events.js';
import { taskRequestError } from './task-request-error.js';
import { TaskRequestSchema } from './task-request-schema.js';
import { BatchSchema, TaskSchema, TaskStateSchema, batchView, taskView } from './task-view.js';

const IdParam = z.object({ id: z.string().min(1).max(64) });

const create = createRoute({
  method: 'post',
  path: '/tasks',
  summary: 'Run a task on one host, on hosts matching a label selector, or on all hosts',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: TaskRequestSchema,
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Queued',
      content: {
        'application/json': {
          schema: z.object({
            batch: BatchSchema,
            tasks: z.array(z.object({ id: z.string(), hostId: z.string(), state: TaskStateSchema })),
          }),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const list = createRoute({
  method: 'get',
  path: '/tasks',
  summary: 'List tasks, newest first',
  request: {
    query: z.object({
      batch: z.string().max(64).optional(),
      host: z.string().max(64).optional(),
      state: TaskStateSchema.optional(),
      type: z.string().max(128).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: {
    200: { description: 'Tasks', content: { 'application/json': { schema: z.object({ items: z.array(TaskSchema) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const get = createRoute({
  method: 'get',
  path: '/tasks/{id}',
  summary: 'One task with its output or error',
  request: { params: IdParam },
  responses: {
    200: { description: 'Task', content: { 'application/json': { schema: TaskSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

const cancel = createRoute({
  method: 'post',
  path: '/tasks/{id}/cancel',
  summary: 'Cancel a task',
  request: { params: IdParam },
  responses: {
    200: { description: 'Cancel outcome', content: { 'application/json': { schema: CancelOutcomeSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

const events = createRoute({
  method: 'get',
  path: '/tasks/{id}/events',
  summary: 'Server-sent events of one task (state, progress), then `end` once it is terminal',
  description: 'text/event-stream. Each event’s data is JSON {id, taskId, batchId, hostId, kind, data, at}. Resumes after the Last-Event-ID header.',
  request: { params: IdParam },
  responses: {
    ...eventStreamResponses,
    ...errorResponses(401, 403, 404),
  },
});

export function tasksRoutes(deps: ApiDeps) {
  const { db, dispatcher } = deps;
  const guard = createGuard(db);
  return createRouter()
    .openapi(
      { ...create, middleware: [guard('operator', 'tasks.create')] },
      async (c) => {
        const body = c.req.valid('json');
        noteAudit(c, { detail: { type: body.type, target: body.target } });
        const { batch, tasks } = await createTaskBatch(db, { ...body, createdBy: c.get('actor')?.label ?? 'unknown' });
        noteAudit(c, { target: batch.id, detail: { tasks: tasks.length } });
        dispatcher.kick();
        return c.json({ batch: batchView(batch), tasks }, 201);
      },
      (result): undefined => {
        // The union's own message for an unknown type or bad params would not say which task or what is known.
        // @hono/zod-validator passes the raw body as `data` on failure; its types only declare it on success.
        if (!result.success) throw taskRequestError((result as unknown as { data: unknown }).data, result.error);
        return undefined;
      },
    )
    .openapi({ ...list, middleware: [guard('viewer', 'tasks.list')] }, async (c) => {
      const { batch, host, state, type, limit } = c.req.valid('query');
      let q = db.selectFrom('tasks').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit);
      if (batch) q = q.where('batch_id', '=', batch);
      if (host) q = q.where('host_id', '=', host);
      if (state) q = q.where('state', '=', state);
      if (type) q = q.where('type', '=', type);
      return c.json({ items: (await q.execute()).map(taskView) }, 200);
    })
    .openapi({ ...get, middleware: [guard('viewer', 'tasks.get')] }, async (c) => {
      const { id } = c.req.valid('param');
      const row = await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `task ${id} not found`);
      return c.json(taskView(row), 200);
    })
    .openapi({ ...cancel, middleware: [guard('operator', 'tasks.cancel')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      const exists = await db.selectFrom('tasks').select('id').where('id', '=', id).executeTakeFirst();
      if (!exists) throw new ApiError(404, `task ${id} not found`);
      const outcome = await cancelTasks(db, dispatcher, { taskId: id }, `cancelled by ${c.get('actor')?.label ?? 'unknown'}`);
      noteAudit(c, { detail: { cancelled: outcome.cancelled.length, cancelling: outcome.cancelling.length } });
      return c.json(outcome, 200);
    })
    .openapi({ ...events, middleware: [guard('viewer', 'tasks.events')] }, async (c) => {
      const { id } = c.req.valid('param');
      const exists = await db.selectFrom('tasks').select('id').where('id', '=', id).executeTakeFirst();
      if (!exists) throw new ApiError(404, `task ${id} not found`);
      return streamTaskEvents(c, deps, { taskId: id });
    });
}
