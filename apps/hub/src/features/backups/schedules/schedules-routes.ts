import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { secretRef } from '@keyfleet/proto/v1';
import type { ApiDeps } from '../../../api/api-deps.js';
import { ApiError } from '../../../api/api-error.js';
import { createGuard } from '../../../api/create-guard.js';
import { createRouter } from '../../../api/create-router.js';
import { errorResponses } from '../../../api/error-responses.js';
import { noteAudit } from '../../../api/note-audit.js';
import { toIso } from '../../../api/to-iso.js';
import { SelectorSchema } from '../../../api/selector-schema.js';
import { backupsDb } from '../backups-tables.js';
import { HUB_HOST_ID } from '../hub/hub-backup-manifest.js';
import { scheduleCron } from './schedule-cron.js';
import { checkScheduleTask, ScheduleTaskSchema } from './schedule-task.js';
import { RetentionSchema, ScheduleDetailSchema, ScheduleSchema, scheduleRuns, scheduleView } from './schedule-view.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** A schedule by its id (bs_…) or its name. */
const RefParam = z.object({ id: z.string().regex(NAME, 'a schedule id (bs_…) or name') });

const Create = z
  .object({
    name: z.string().regex(NAME, 'names are 1-63 of [a-z0-9._-], starting with a letter or digit'),
    kind: z.enum(['backup', 'drill', 'task']),
    cron: z.string().min(1).max(200).openapi({ description: '5 fields (minute first), or 6 with seconds first', example: '0 2 * * *' }),
    timezone: z.string().min(1).max(64).default('UTC').openapi({ description: 'IANA time zone the cron is read in', example: 'Europe/Berlin' }),
    selector: SelectorSchema.optional().openapi({ description: 'hosts whose labels all match (every host when absent), read at each run' }),
    windowSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(1800)
      .openapi({
        description:
          'each host starts at its own fixed offset in this window after the cron time; a host offline at its start is taken when it returns inside it',
      }),
    maxConcurrent: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(10)
      .openapi({ description: 'fleet-wide: at most this many of its units run at once; the rest wait' }),
    retention: RetentionSchema.optional().openapi({ description: 'backup schedules: applied to this schedule’s own backups after each run' }),
    drill: z
      .object({
        hostId: z.string().min(1).max(64),
        identitySecret: secretRef.shape.$secret,
        scratchUrl: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
        scratchPasswordSecret: secretRef.shape.$secret.optional(),
      })
      .strict()
      .optional()
      .openapi({ description: 'drill schedules: where each matched host’s newest stored backup is proven to restore' }),
    task: ScheduleTaskSchema.optional().openapi({
      description: 'task schedules: the declared task type run on each matched host, and its params (checked now against its input schema)',
    }),
    hub: z
      .boolean()
      .default(false)
      .openapi({ description: 'backup schedules: back up the hub’s own database (one unit per run, host `hub`) instead of hosts; no selector' }),
    paused: z.boolean().default(false),
  })
  .strict();

const create = createRoute({
  method: 'post',
  path: '/backup-schedules',
  summary: 'Create a fleet-wide backup, drill or task schedule (cron in a time zone, host selector, spread window, concurrency cap, retention)',
  request: { body: { required: true, content: { 'application/json': { schema: Create } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: ScheduleSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const list = createRoute({
  method: 'get',
  path: '/backup-schedules',
  summary: 'Every schedule with its next fire time and last run',
  responses: {
    200: { description: 'Schedules', content: { 'application/json': { schema: z.object({ items: z.array(ScheduleSchema) }) } } },
    ...errorResponses(401, 403),
  },
});

const show = createRoute({
  method: 'get',
  path: '/backup-schedules/{id}',
  summary: 'One schedule with its last runs and the hosts of the newest one',
  request: { params: RefParam },
  responses: {
    200: { description: 'Schedule', content: { 'application/json': { schema: ScheduleDetailSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const pause = createRoute({
  method: 'post',
  path: '/backup-schedules/{id}/pause',
  summary: 'Pause a schedule: it fires no more, and its units not started yet are dropped (running ones finish)',
  request: { params: RefParam },
  responses: {
    200: { description: 'Paused', content: { 'application/json': { schema: ScheduleSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const resume = createRoute({
  method: 'post',
  path: '/backup-schedules/{id}/resume',
  summary: 'Resume a schedule at its next cron time (times that passed while paused do not fire)',
  request: { params: RefParam },
  responses: {
    200: { description: 'Resumed', content: { 'application/json': { schema: ScheduleSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/backup-schedules/{id}',
  summary: 'Delete a schedule and its run history; its backups stay in the catalog, running units finish',
  request: { params: RefParam },
  responses: {
    200: { description: 'Deleted', content: { 'application/json': { schema: z.object({ id: z.string(), name: z.string() }) } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function schedulesRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = backupsDb(coreDb);
  const find = async (ref: string) => {
    const row = await db
      .selectFrom('backup_schedules')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
      .executeTakeFirst();
    if (!row) throw new ApiError(404, `backup schedule ${ref} not found`);
    return row;
  };
  const viewOf = async (id: string) => {
    const row = await find(id);
    return scheduleView(row, (await scheduleRuns(coreDb, [row.id], 1)).get(row.id) ?? [], new Date());
  };
  return createRouter()
    .openapi({ ...create, middleware: [guard('admin', 'backup-schedules.create')] }, async (c) => {
      const body = c.req.valid('json');
      noteAudit(c, { detail: { name: body.name, kind: body.kind, cron: body.cron, timezone: body.timezone, selector: body.selector } });
      let next: Date | null;
      try {
        next = scheduleCron(body.cron, body.timezone).nextAfter(new Date());
      } catch (err) {
        throw new ApiError(400, (err as Error).message);
      }
      // Such an expression (Feb 30) costs a search of years on every look at it, and does nothing.
      if (!next) throw new ApiError(400, `cron expression "${body.cron}" never fires`);
      if (body.kind === 'drill' && !body.drill) throw new ApiError(400, 'a drill schedule needs drill: { hostId, identitySecret, scratchUrl }');
      if (body.kind === 'backup' && body.drill) throw new ApiError(400, 'drill settings belong to drill schedules (kind: drill)');
      if (body.kind === 'drill' && body.retention) throw new ApiError(400, 'retention belongs to backup schedules: drills keep nothing');
      if (body.kind === 'task') {
        if (!body.task) throw new ApiError(400, 'a task schedule needs task: { type, params }');
        if (body.retention || body.drill) throw new ApiError(400, 'retention and drill settings belong to backup and drill schedules');
        checkScheduleTask(body.task);
      } else if (body.task) throw new ApiError(400, 'a task belongs to task schedules (kind: task)');
      if (body.hub && (body.kind === 'task' || body.selector || (body.drill && body.drill.hostId !== HUB_HOST_ID)))
        throw new ApiError(
          400,
          'hub: true is a backup or drill schedule of the hub’s own database: kind backup or drill (drilled on the hub: drill.hostId hub), without a selector',
        );
      if (body.retention && !Object.values(body.retention).some((n) => (n ?? 0) > 0))
        throw new ApiError(
          400,
          'a retention policy keeps something: give at least one of keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly',
        );
      if (body.drill) {
        const host = body.hub || (await db.selectFrom('hosts').select('id').where('id', '=', body.drill.hostId).executeTakeFirst());
        if (!host) throw new ApiError(404, `drill host ${body.drill.hostId} not found`);
        const names = [body.drill.identitySecret, ...(body.drill.scratchPasswordSecret ? [body.drill.scratchPasswordSecret] : [])];
        const stored = new Set((await db.selectFrom('secrets').select('name').where('name', 'in', names).execute()).map((r) => r.name));
        const missing = names.filter((n) => !stored.has(n));
        if (missing.length > 0) throw new ApiError(404, `unknown secret ${missing.join(', ')}: store it first with keyfleet secrets set <name>`);
      }
      const id = `bs_${randomBytes(8).toString('hex')}`;
      const row = await db
        .insertInto('backup_schedules')
        .values({
          id,
          name: body.name,
          kind: body.kind,
          cron: body.cron,
          timezone: body.timezone,
          selector: body.selector ?? null,
          window_seconds: body.windowSeconds,
          max_concurrent: body.maxConcurrent,
          retention: body.retention ? JSON.stringify(body.retention) : null,
          drill: body.drill ? JSON.stringify(body.drill) : null,
          task: body.task ? JSON.stringify(body.task) : null,
          hub: body.hub,
          paused: body.paused,
          created_by: c.get('actor')?.label ?? 'unknown',
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new ApiError(409, `a backup schedule named ${body.name} exists already`);
      noteAudit(c, { target: id });
      return c.json(scheduleView(row, [], new Date()), 201);
    })
    .openapi({ ...list, middleware: [guard('viewer', 'backup-schedules.list')] }, async (c) => {
      const rows = await db.selectFrom('backup_schedules').selectAll().orderBy('name').execute();
      const runs = await scheduleRuns(
        coreDb,
        rows.map((r) => r.id),
        1,
      );
      const now = new Date();
      return c.json({ items: rows.map((r) => scheduleView(r, runs.get(r.id) ?? [], now)) }, 200);
    })
    .openapi({ ...show, middleware: [guard('viewer', 'backup-schedules.show')] }, async (c) => {
      const row = await find(c.req.valid('param').id);
      const runs = (await scheduleRuns(coreDb, [row.id], 10)).get(row.id) ?? [];
      const newest = runs[0];
      const units = newest
        ? await db
            .selectFrom('backup_schedule_units')
            .selectAll()
            .where('schedule_id', '=', row.id)
            .where('fire_time', '=', new Date(newest.fireTime))
            .orderBy('start_at')
            .orderBy('host_id')
            .execute()
        : [];
      return c.json(
        {
          ...scheduleView(row, runs, new Date()),
          runs,
          lastRunUnits: units.map((u) => ({
            hostId: u.host_id,
            state: u.state,
            startAt: toIso(u.start_at),
            windowEnd: toIso(u.window_end),
            backupId: u.backup_id,
            taskId: u.task_id,
            error: u.error,
          })),
        },
        200,
      );
    })
    .openapi({ ...pause, middleware: [guard('operator', 'backup-schedules.pause')] }, async (c) => {
      const row = await find(c.req.valid('param').id);
      noteAudit(c, { target: row.id });
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('backup_schedules').set({ paused: true }).where('id', '=', row.id).execute();
        await trx
          .updateTable('backup_schedule_units')
          .set({ state: 'missed', error: 'the schedule was paused before it started', finished_at: new Date() })
          .where('schedule_id', '=', row.id)
          .where('state', '=', 'pending')
          .execute();
      });
      return c.json(await viewOf(row.id), 200);
    })
    .openapi({ ...resume, middleware: [guard('operator', 'backup-schedules.resume')] }, async (c) => {
      const row = await find(c.req.valid('param').id);
      noteAudit(c, { target: row.id });
      const now = new Date();
      // Cron times that passed while paused count as dealt with: resuming is not a catch-up run.
      const firedThrough = row.fired_through && row.fired_through > now ? row.fired_through : now;
      await db.updateTable('backup_schedules').set({ paused: false, fired_through: firedThrough }).where('id', '=', row.id).execute();
      return c.json(await viewOf(row.id), 200);
    })
    .openapi({ ...remove, middleware: [guard('admin', 'backup-schedules.delete')] }, async (c) => {
      const row = await find(c.req.valid('param').id);
      noteAudit(c, { target: row.id, detail: { name: row.name } });
      await db.deleteFrom('backup_schedules').where('id', '=', row.id).execute();
      return c.json({ id: row.id, name: row.name }, 200);
    });
}
