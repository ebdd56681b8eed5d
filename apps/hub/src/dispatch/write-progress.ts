import { sql, type Kysely } from 'kysely';
import type { Logger } from '@keyfleet/log';
import { type Progress, terminalTaskStates } from '@keyfleet/proto/v1';
import { collectSecretRefs } from '../secrets/collect-secret-refs.js';
import { redactSecrets } from '../secrets/redact-secrets.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { Database } from '../store/database.js';
import { compareIds } from './compare-ids.js';
import { transitionTasks } from './transition-tasks.js';

export interface ProgressItem {
  hostId: string;
  progress: Progress;
}

/** `undefined` when written or ignored; otherwise why the message was refused. */
export type ProgressVerdict = string | undefined;

/**
 * Writes a batch of progress messages. `started` moves a task to running; any progress
 * also implies running, since `started` is a plain publish and may have been lost.
 * A thousand agents start a fan-out within milliseconds of each other, so the state
 * changes are one statement per batch rather than a transaction per message.
 */
export async function writeProgress(
  db: Kysely<Database>,
  log: Logger,
  secrets: Pick<SecretStore, 'reveal'>,
  items: ProgressItem[],
): Promise<ProgressVerdict[]> {
  const ids = [...new Set(items.map((i) => i.progress.taskId))];
  const tasks = new Map(
    (await db.selectFrom('tasks').select(['id', 'state', 'host_id', 'batch_id', 'params']).where('id', 'in', ids).execute()).map((t) => [t.id, t]),
  );
  const verdicts = items.map(({ hostId, progress }): ProgressVerdict => {
    const task = tasks.get(progress.taskId);
    return task && task.host_id === hostId ? undefined : `task ${progress.taskId} is not a task of host ${hostId}`;
  });
  const live = items.filter((item, i) => {
    if (verdicts[i] !== undefined) return false;
    const state = tasks.get(item.progress.taskId)!.state;
    if (terminalTaskStates.includes(state)) {
      log.debug({ taskId: item.progress.taskId, state, stage: item.progress.stage }, 'progress for a terminal task ignored');
      return false;
    }
    return true;
  });
  if (live.length === 0) return verdicts;

  // Like results, progress messages are stored and shown: mask any secret the task was sent.
  const secretsOf = new Map(
    live.filter((i) => i.progress.message).map((i) => [i.progress.taskId, collectSecretRefs(tasks.get(i.progress.taskId)!.params).map((r) => r.name)]),
  );
  const { values } = await secrets.reveal([...secretsOf.values()].flat());
  const masked = (p: Progress): string | undefined =>
    p.message === undefined
      ? undefined
      : redactSecrets(
          p.message,
          (secretsOf.get(p.taskId) ?? []).flatMap((n) => values.get(n) ?? []),
        );

  await db.transaction().execute(async (trx) => {
    const toRunning = live.filter((i) => tasks.get(i.progress.taskId)!.state !== 'running').map((i) => i.progress.taskId);
    if (toRunning.length > 0) {
      await transitionTasks(trx, {
        where: (eb) => eb.and([eb('id', 'in', toRunning), eb('state', 'in', ['queued', 'dispatched'])]),
        to: 'running',
        set: { started_at: sql<Date>`coalesce(started_at, now())` },
      });
    }
    // In id order, like every multi-row task write, so concurrent batches cannot deadlock.
    for (const { progress: p } of live.toSorted((a, b) => compareIds(a.progress.taskId, b.progress.taskId))) {
      if (p.percent === undefined && p.message === undefined && p.bytes === undefined) continue;
      const progress = JSON.stringify({ percent: p.percent, message: masked(p), bytes: p.bytes, totalBytes: p.totalBytes });
      await trx.updateTable('tasks').set({ progress }).where('id', '=', p.taskId).execute();
      await trx
        .insertInto('task_events')
        .values({ task_id: p.taskId, batch_id: tasks.get(p.taskId)!.batch_id, kind: 'progress', data: progress })
        .execute();
    }
  });
  return verdicts;
}
