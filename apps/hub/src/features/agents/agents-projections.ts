import { sql } from 'kysely';
import type { ResultProjections } from '../../dispatch/result-projection.js';
import { agentsDb } from './agents-tables.js';

/**
 * An agent.upgrade result opens the host's upgrade row: `restarting` until its watchdog reports,
 * or `failed` with the reason (a checksum mismatch, an artifact that does not run) when nothing
 * was swapped. A result re-sent after the watchdog's report never turns that outcome back.
 */
export const agentsProjections: ResultProjections = {
  'agent.upgrade': async (trx, r, log) => {
    const db = agentsDb(trx);
    const params = r.params as { version?: unknown } | null;
    const to = r.output?.to ?? (typeof params?.version === 'string' ? params.version : undefined);
    if (!to) return log.warn({ taskId: r.taskId }, 'agent.upgrade result without a version; not projected');
    if (r.outcome === 'succeeded' && r.output?.state === 'current') return;
    const row =
      r.outcome === 'succeeded' && r.output
        ? {
            state: 'restarting' as const,
            attempt_id: r.output.attemptId ?? null,
            from_version: r.output.from,
            reason: null,
            deadline_at: r.output.deadlineAt ?? null,
          }
        : { state: 'failed' as const, attempt_id: null, from_version: null, reason: r.error?.message ?? r.outcome, deadline_at: null };
    await db
      .insertInto('agent_upgrades')
      .columns(['host_id', 'task_id', 'to_version', 'state', 'attempt_id', 'from_version', 'reason', 'deadline_at', 'updated_at'])
      .expression((eb) =>
        eb
          .selectFrom('hosts')
          .select([
            'id',
            eb.val(r.taskId).as('task_id'),
            eb.val(to).as('to_version'),
            eb.val(row.state).as('state'),
            eb.val(row.attempt_id).as('attempt_id'),
            eb.val(row.from_version).as('from_version'),
            eb.val(row.reason).as('reason'),
            sql<Date | null>`${row.deadline_at}::timestamptz`.as('deadline_at'),
            sql<Date>`${r.finishedAt}::timestamptz`.as('updated_at'),
          ])
          .where('id', '=', r.hostId),
      )
      .onConflict((oc) =>
        oc
          .column('host_id')
          .doUpdateSet((eb) => ({
            task_id: eb.ref('excluded.task_id'),
            to_version: eb.ref('excluded.to_version'),
            state: eb.ref('excluded.state'),
            attempt_id: eb.ref('excluded.attempt_id'),
            from_version: eb.ref('excluded.from_version'),
            reason: eb.ref('excluded.reason'),
            deadline_at: eb.ref('excluded.deadline_at'),
            updated_at: eb.ref('excluded.updated_at'),
          }))
          .where(({ eb, and, or }) =>
            and([
              // Not an older task's result arriving late, nor this task's re-sent after its
              // watchdog reported (the report may even come first: it names the same attempt).
              eb('agent_upgrades.updated_at', '<=', sql<Date>`${r.finishedAt}::timestamptz`),
              eb('agent_upgrades.task_id', 'is distinct from', sql<string>`excluded.task_id`),
              or([eb(sql`excluded.attempt_id`, 'is', null), eb('agent_upgrades.attempt_id', 'is distinct from', sql<string>`excluded.attempt_id`)]),
            ]),
          ),
      )
      .execute();
  },
};
