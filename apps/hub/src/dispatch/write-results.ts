import { sql, type Kysely } from 'kysely';
import type { Logger } from '@keyfleet/log';
import { isTaskName, type Result, type TaskName, taskDefinitions, terminalTaskStates } from '@keyfleet/proto/v1';
import { collectSecretRefs } from '../secrets/collect-secret-refs.js';
import { redactSecrets } from '../secrets/redact-secrets.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { Database } from '../store/database.js';
import { compareIds } from './compare-ids.js';
import type { ProjectedResult, ResultProjection, ResultProjections } from './result-projection.js';

export interface ResultItem {
  /** The authenticated sender (from the subject). */
  hostId: string;
  result: Result;
}

/** `stored`: written now; `ignored`: the task was already terminal (first terminal state wins). */
export type ResultVerdict = { ok: true; stored: boolean } | { ok: false; reason: string };

/**
 * Writes a batch of results in one transaction and says, per result, whether it
 * may be acked. Rows are locked in id order so concurrent batches (several hubs)
 * never deadlock; a task already terminal is left as it is. Any value of a secret
 * the task was sent is masked before anything is stored, and the read models fed
 * by results (the features' projections) are updated in the same transaction.
 */
export async function writeResults(
  db: Kysely<Database>,
  log: Logger,
  secrets: Pick<SecretStore, 'reveal'>,
  projections: readonly ResultProjections[],
  items: ResultItem[],
): Promise<ResultVerdict[]> {
  const taskIds = [...new Set(items.map((i) => i.result.taskId))];
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('tasks')
      .select(['id', 'host_id', 'state', 'type', 'params'])
      .where('id', 'in', taskIds)
      .orderBy('id')
      .forUpdate()
      .execute();
    const tasks = new Map(rows.map((r) => [r.id, r]));
    const toStore = new Map<string, Result>();
    const verdicts = items.map(({ hostId, result }): ResultVerdict => {
      const task = tasks.get(result.taskId);
      if (!task || task.host_id !== hostId) return { ok: false, reason: `task ${result.taskId} is not a task of host ${hostId}` };
      if (terminalTaskStates.includes(task.state) || toStore.has(result.taskId)) {
        log.debug({ taskId: result.taskId, state: task.state, outcome: result.outcome }, 'result for a task already terminal: acked and ignored');
        return { ok: true, stored: false };
      }
      toStore.set(result.taskId, result);
      return { ok: true, stored: true };
    });
    if (toStore.size === 0) return verdicts;

    const secretNames = new Map([...toStore.keys()].map((id) => [id, collectSecretRefs(tasks.get(id)!.params).map((r) => r.name)]));
    const { values } = await secrets.reveal([...secretNames.values()].flat(), trx);
    const stored = [...toStore.values()].map((r) => {
      const task = tasks.get(r.taskId)!;
      const used = secretNames.get(r.taskId)!.flatMap((name) => values.get(name) ?? []);
      return {
        taskId: r.taskId,
        hostId: task.host_id,
        type: task.type,
        params: task.params,
        outcome: r.outcome,
        output: redactSecrets(r.output ?? null, used),
        error: redactSecrets(r.error ?? null, used),
        finishedAt: r.finishedAt,
      };
    });
    const records = stored.map((r) => ({
      id: r.taskId,
      state: r.outcome,
      output: r.output,
      error: r.error,
      started_at: toStore.get(r.taskId)!.startedAt ?? null,
      finished_at: r.finishedAt,
    }));
    await sql`
      WITH r AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(records)}::jsonb)
          AS r(id text, state text, output jsonb, error jsonb, started_at timestamptz, finished_at timestamptz)
      ), changed AS (
        UPDATE tasks t
           SET state = r.state, output = r.output, error = r.error,
               -- The agent's start and finish come from one clock; the hub's own note of 'started'
               -- (its clock, when the progress arrived) is only a fallback, or durations go negative.
               started_at = coalesce(r.started_at, t.started_at), finished_at = r.finished_at
          FROM r
         WHERE t.id = r.id AND t.state IN ('queued', 'dispatched', 'running')
        RETURNING t.id, t.batch_id, t.state, t.error
      )
      INSERT INTO task_events (task_id, batch_id, kind, data)
      SELECT id, batch_id, 'state', CASE WHEN error IS NULL THEN jsonb_build_object('state', state)
                                         ELSE jsonb_build_object('state', state, 'error', error) END
        FROM changed`.execute(trx);

    const byHost = stored.toSorted((a, b) => compareIds(a.hostId, b.hostId) || compareIds(a.taskId, b.taskId));
    for (const r of byHost) {
      if (!isTaskName(r.type)) continue;
      const project = projections.map((p) => p[r.type as TaskName]).filter((p) => p !== undefined);
      if (project.length === 0) continue;
      const projected = withParsedOutput(r.type, r, log);
      for (const p of project) await (p as ResultProjection<TaskName>)(trx, projected, log);
    }
    return verdicts;
  });
}

/** The result with its output parsed by the declaration; a mismatch is logged and leaves `output` undefined. */
function withParsedOutput<K extends TaskName>(
  type: K,
  r: Omit<ProjectedResult, 'type' | 'output' | 'rawOutput'> & { output: unknown },
  log: Logger,
): ProjectedResult<K> {
  const parsed = r.output === null ? undefined : taskDefinitions[type].output.safeParse(r.output);
  if (parsed && !parsed.success && r.outcome === 'succeeded') {
    log.warn(
      { taskId: r.taskId, type, issues: parsed.error.issues.slice(0, 5) },
      'task output does not match its declaration; read models not updated from it',
    );
  }
  return { ...r, type, output: parsed?.success ? (parsed.data as ProjectedResult<K>['output']) : undefined, rawOutput: r.output };
}
