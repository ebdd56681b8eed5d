import { terminalTaskStates } from '@keyfleet/proto/v1';
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import { errorResponses } from '../error-responses.js';

const PAGE = 500;
const KEEPALIVE_MS = 15_000;
/** Each open stream polls the database; past this many per hub a new one is refused (503). */
const MAX_OPEN_STREAMS = 200;
/** A stream closes after this long without `end`; the client resumes with Last-Event-ID. */
const MAX_STREAM_MS = 3600_000;
const RETRY_AFTER_SECONDS = 5;

/** The responses of an event stream route, beside its own 404. */
export const eventStreamResponses = {
  200: {
    description: 'Server-sent events: `state` and `progress` (data: JSON {id, taskId, batchId, hostId, kind, data, at}), then `end`',
    content: { 'text/event-stream': { schema: z.string() } },
  },
  ...errorResponses(503),
};

const open = new WeakMap<ApiDeps, { count: number }>();

/** Where a stream stands: the (writer transaction, id) of the last event it sent. */
interface Cursor {
  /** xid8 as text; compared in SQL only. */
  tx: string;
  id: number;
}

const START: Cursor = { tx: '0', id: 0 };

/**
 * Server-sent events for one task or one batch: replays stored task_events after
 * Last-Event-ID, then polls the table. Polling (not an in-process bus) means any
 * hub serves any stream, also across restarts. Ends with an `end` event once every
 * task in scope is terminal; terminal states are written in the same transaction
 * as their event, so nothing is left unread at that point.
 *
 * Order is (writer transaction id, event id), and a poll reads only events whose writer
 * transaction is older than every transaction still running (`pg_snapshot_xmin`). Event ids
 * are allocated at insert but become visible at commit, so polling `id > last` skipped any
 * event whose transaction committed after a later id's did. Below the snapshot's xmin no
 * transaction can still add a row, so once the cursor passes a transaction id nothing can
 * appear behind it: every event is sent exactly once, and a resume from any event id
 * continues in the same order. The price is latency: an event waits for every older writing
 * transaction in the cluster to end (the hub's own are short; read-only ones do not count).
 */
export function streamTaskEvents(c: Context<AppEnv>, deps: ApiDeps, scope: { taskId: string } | { batchId: string }): Response {
  const { db, log, shutdown, eventPollMs = 200, maxEventStreams = MAX_OPEN_STREAMS, maxEventStreamMs = MAX_STREAM_MS } = deps;
  let streams = open.get(deps);
  if (!streams) {
    streams = { count: 0 };
    open.set(deps, streams);
  }
  if (streams.count >= maxEventStreams) {
    c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    throw new ApiError(503, `this hub already serves ${maxEventStreams} event streams; retry shortly`);
  }
  const counter = streams;
  const inScope = (eb: ExpressionBuilder<Database, 'tasks'>) => ('batchId' in scope ? eb('batch_id', '=', scope.batchId) : eb('id', '=', scope.taskId));
  const resumeFrom = Number(c.req.header('last-event-id') ?? '');

  counter.count++;
  return streamSSE(c, async (stream) => {
    try {
      await pump(stream);
    } catch (err) {
      log.error({ err, ...scope }, 'task event stream failed');
      await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: 'event stream failed; reconnect with Last-Event-ID to resume' }) });
    } finally {
      counter.count--;
    }
  });

  async function pump(stream: SSEStreamingApi): Promise<void> {
    let cursor = Number.isSafeInteger(resumeFrom) && resumeFrom > 0 ? await resumeCursor(db, scope, resumeFrom) : START;
    let lastWrite = Date.now();
    const closeAt = Date.now() + maxEventStreamMs;
    while (!stream.aborted && !shutdown?.aborted && Date.now() < closeAt) {
      const states = await db
        .selectFrom('tasks')
        .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
        .where(inScope)
        .groupBy('state')
        .execute();
      // Every task terminal means no event can be added to this scope any more: the last read
      // takes everything committed, without waiting for unrelated older transactions.
      const done = states.every((s) => terminalTaskStates.includes(s.state));

      for (;;) {
        const events = await readEvents(db, scope, cursor, { committedOnly: !done });
        for (const e of events) {
          await stream.writeSSE({
            id: String(e.id),
            event: e.kind,
            data: JSON.stringify({ id: e.id, taskId: e.task_id, batchId: e.batch_id, hostId: e.host_id, kind: e.kind, data: e.data, at: e.at.toISOString() }),
          });
          cursor = { tx: e.tx, id: e.id };
          lastWrite = Date.now();
        }
        if (events.length < PAGE) break;
      }

      if (done) {
        await stream.writeSSE({ event: 'end', data: JSON.stringify({ states: Object.fromEntries(states.map((s) => [s.state, Number(s.n)])) }) });
        return;
      }
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        // A comment line keeps proxies from closing an idle stream.
        await stream.write(': keepalive\n\n');
        lastWrite = Date.now();
      }
      await stream.sleep(eventPollMs);
    }
  }
}

function scopeColumn(scope: { taskId: string } | { batchId: string }) {
  return 'batchId' in scope ? (['e.batch_id', scope.batchId] as const) : (['e.task_id', scope.taskId] as const);
}

/**
 * The cursor just past an event id a client already has. An id outside the scope (or of an
 * event deleted since) restarts the stream: a duplicate beats a gap.
 */
async function resumeCursor(db: Kysely<Database>, scope: { taskId: string } | { batchId: string }, eventId: number): Promise<Cursor> {
  const [column, value] = scopeColumn(scope);
  const row = await db
    .selectFrom('task_events as e')
    .select(sql<string>`e.tx::text`.as('tx'))
    .where('e.id', '=', eventId)
    .where(column, '=', value)
    .executeTakeFirst();
  return row ? { tx: row.tx, id: eventId } : START;
}

function readEvents(db: Kysely<Database>, scope: { taskId: string } | { batchId: string }, cursor: Cursor, opts: { committedOnly: boolean }) {
  const [column, value] = scopeColumn(scope);
  let q = db
    .selectFrom('task_events as e')
    .innerJoin('tasks as t', 't.id', 'e.task_id')
    .select(['e.id', 'e.task_id', 'e.batch_id', 't.host_id', 'e.kind', 'e.data', 'e.at', sql<string>`e.tx::text`.as('tx')])
    .where(column, '=', value)
    .where(sql<boolean>`(e.tx, e.id) > (${cursor.tx}::xid8, ${cursor.id}::bigint)`);
  // Transactions below the snapshot's xmin have all ended, so nothing can commit behind these.
  if (opts.committedOnly) q = q.where(sql<boolean>`e.tx < pg_snapshot_xmin(pg_current_snapshot())`);
  return q.orderBy(sql`e.tx`).orderBy('e.id').limit(PAGE).execute();
}
