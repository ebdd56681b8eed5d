import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { ExpressionBuilder } from 'kysely';
import { TERMINAL_STATES, type Database } from '../../store/database.js';
import type { ApiDeps } from '../api-deps.js';
import type { AppEnv } from '../app-env.js';

const PAGE = 500;
const KEEPALIVE_MS = 15_000;

/**
 * Server-sent events for one task or one batch: replays stored task_events after
 * Last-Event-ID, then polls the table. Polling (not an in-process bus) means any
 * hub serves any stream, also across restarts. Ends with an `end` event once every
 * task in scope is terminal; terminal states are written in the same transaction
 * as their event, so nothing is left unread at that point.
 */
export function streamTaskEvents(
  c: Context<AppEnv>,
  { db, log, shutdown, eventPollMs = 200 }: ApiDeps,
  scope: { taskId: string } | { batchId: string },
): Response {
  const inScope = (eb: ExpressionBuilder<Database, 'tasks'>) => ('batchId' in scope ? eb('batch_id', '=', scope.batchId) : eb('id', '=', scope.taskId));
  const resumeFrom = Number.parseInt(c.req.header('last-event-id') ?? '', 10);

  return streamSSE(c, async (stream) => {
    try {
      await pump(stream);
    } catch (err) {
      log.error({ err, ...scope }, 'task event stream failed');
      await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: 'event stream failed; reconnect with Last-Event-ID to resume' }) });
    }
  });

  async function pump(stream: SSEStreamingApi): Promise<void> {
    let last = Number.isSafeInteger(resumeFrom) && resumeFrom > 0 ? resumeFrom : 0;
    let lastWrite = Date.now();
    while (!stream.aborted && !shutdown?.aborted) {
      const states = await db
        .selectFrom('tasks')
        .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
        .where(inScope)
        .groupBy('state')
        .execute();
      const done = states.every((s) => TERMINAL_STATES.includes(s.state));

      for (;;) {
        const events = await db
          .selectFrom('task_events as e')
          .innerJoin('tasks as t', 't.id', 'e.task_id')
          .select(['e.id', 'e.task_id', 'e.batch_id', 't.host_id', 'e.kind', 'e.data', 'e.at'])
          .where('batchId' in scope ? 'e.batch_id' : 'e.task_id', '=', 'batchId' in scope ? scope.batchId : scope.taskId)
          .where('e.id', '>', last)
          .orderBy('e.id')
          .limit(PAGE)
          .execute();
        for (const e of events) {
          await stream.writeSSE({
            id: String(e.id),
            event: e.kind,
            data: JSON.stringify({ id: e.id, taskId: e.task_id, batchId: e.batch_id, hostId: e.host_id, kind: e.kind, data: e.data, at: e.at.toISOString() }),
          });
          last = e.id;
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
