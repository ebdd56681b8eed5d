import { createRoute, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { noteAudit } from '../note-audit.js';
import { CancelOutcomeSchema, cancelTasks } from './cancel-tasks.js';
import { createTaskBatch } from './create-task-batch.js';
import { streamTaskEvents } from './stream-task-events.js';
import { BatchSchema, TaskSchema, TaskStateSchema, batchView, taskView } from './task-view.js';

const DAY_MS = 24 * 3600 * 1000;

const TargetSchema = z
  .union([
    z.object({ hostId: z.string().min(1).max(64) }).strict(),
    z.object({ selector: z.string().min(1).max(2000).openapi({ example: 'env=prod,region=eu-1' }) }).strict(),
    z.object({ all: z.literal(true) }).strict(),
  ])
  .openapi('TaskTarget');

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
          schema: z
            .object({
              type: z.string().min(1).max(128).openapi({ example: 'noop' }),
              target: TargetSchema,
              params: z.unknown().optional().openapi({ description: 'validated against the task type’s input schema' }),
              timeoutMs: z.number().int().min(1).max(DAY_MS).optional().openapi({ description: 'default: the task type’s timeout' }),
              expiresInMs: z
                .number()
                .int()
                .min(1000)
                .max(30 * DAY_MS)
                .default(3600 * 1000)
                .openapi({ description: 'how long a task may wait for an offline host before it expires' }),
            })
            .strict(),
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
    ...errorResponses(400, 401, 403),
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
    200: { description: 'text/event-stream of task events' },
    ...errorResponses(401, 403, 404),
  },
});

export function tasksRoutes(deps: ApiDeps) {
  const { db, dispatcher } = deps;
  const guard = createGuard(db);
  return createRouter()
    .openapi({ ...create, middleware: [guard('operator', 'tasks.create')] }, async (c) => {
      const body = c.req.valid('json');
      noteAudit(c, { detail: { type: body.type, target: body.target } });
      const { batch, tasks } = await createTaskBatch(db, { ...body, createdBy: c.get('actor')?.label ?? 'unknown' });
      noteAudit(c, { target: batch.id, detail: { tasks: tasks.length } });
      dispatcher.kick();
      return c.json({ batch: batchView(batch), tasks }, 201);
    })
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
