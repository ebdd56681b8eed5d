import { sql, type Kysely } from 'kysely';
import type { Database, Json } from '../store/database.js';

export interface ClaimedTask {
  id: string;
  host_id: string;
  type: string;
  params: Json;
  timeout_ms: number;
  expires_at: Date;
  /** What the host listed in its hello; tells an unknown type from bad input when the agent rejects. */
  task_types: string[];
}

/**
 * Claims queued tasks of online hosts for sending. The claim is a lease written
 * into the row (`dispatched_at` on a still-queued task), so another hub skips
 * the task until the lease runs out even after this statement has committed;
 * SKIP LOCKED keeps hubs claiming at the same instant from waiting on each
 * other. Per host, dispatched + running + in flight stays within
 * `max_concurrency * perHostFactor`: agents queue a little, not everything.
 */
export async function claimTasks(db: Kysely<Database>, opts: { limit: number; leaseMs: number; perHostFactor: number }): Promise<ClaimedTask[]> {
  const leaseStart = sql`now() - ${opts.leaseMs} * interval '1 millisecond'`;
  const claimable = sql`state = 'queued' AND cancel_requested_at IS NULL AND expires_at > now()
    AND (dispatched_at IS NULL OR dispatched_at < ${leaseStart})`;
  // Columns are unqualified on purpose: `hosts` has none of these names.
  const result = await sql<ClaimedTask>`
    WITH active AS (
      SELECT host_id, count(*) AS n FROM tasks
       WHERE state IN ('dispatched', 'running') OR (state = 'queued' AND dispatched_at >= ${leaseStart})
       GROUP BY host_id
    ), candidates AS (
      SELECT c.id FROM (
        SELECT t.id, t.host_id, row_number() OVER (PARTITION BY t.host_id ORDER BY t.created_at, t.id) AS n
          FROM tasks t JOIN hosts h ON h.id = t.host_id AND h.status = 'online'
         WHERE ${claimable}
      ) c
      JOIN hosts h ON h.id = c.host_id
      LEFT JOIN active a ON a.host_id = c.host_id
      WHERE c.n <= h.max_concurrency * ${opts.perHostFactor} - coalesce(a.n, 0)
      -- Each host's oldest task first, so one busy host cannot starve the others.
      ORDER BY c.n
      LIMIT ${opts.limit}
    ), claimed AS (
      UPDATE tasks SET dispatched_at = now(), dispatch_attempts = dispatch_attempts + 1
       WHERE id IN (
         SELECT id FROM tasks WHERE id IN (SELECT id FROM candidates) AND ${claimable}
            FOR UPDATE SKIP LOCKED)
      RETURNING id, host_id, type, params, timeout_ms, expires_at
    )
    SELECT c.*, h.task_types FROM claimed c JOIN hosts h ON h.id = c.host_id`.execute(db);
  return result.rows;
}
