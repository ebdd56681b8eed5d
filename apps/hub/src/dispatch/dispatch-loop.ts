import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@keyfleet/log';
import { DecodeError, decode, encode, messages, subjects } from '@keyfleet/proto/v1';
import { collectSecretRefs } from '../secrets/collect-secret-refs.js';
import { mapSecretRefs } from '../secrets/map-secret-refs.js';
import { redactSecrets } from '../secrets/redact-secrets.js';
import type { RevealedSecrets, SecretStore } from '../secrets/secret-store.js';
import type { Database } from '../store/database.js';
import { createBatchWriter } from './batch-writer.js';
import { claimTasks, type ClaimedTask } from './claim-tasks.js';
import { describeRequestError } from './describe-request-error.js';
import { transitionTasks } from './transition-tasks.js';

export interface DispatchLoop {
  /** Claims what fits in the free send slots and starts sending; does not wait for replies. */
  run(): Promise<void>;
  /** Waits for every send in flight and its recorded outcome. */
  drain(): Promise<void>;
}

export interface DispatchMetrics {
  /** Seconds from task creation to the agent accepting it. */
  dispatchLatency: { observe(value: number): void };
}

type Outcome =
  | { kind: 'dispatched'; task: ClaimedTask }
  | { kind: 'rejected'; task: ClaimedTask; error: { code: string; message: string } }
  | { kind: 'retry'; task: ClaimedTask };

/** Agents keep a small queue of their own; beyond this many tasks per slot, the rest wait in the hub. */
const PER_HOST_FACTOR = 4;

/**
 * Sends claimed tasks to their agents, at most `maxInFlight` requests at once
 * across runs, so one slow host never holds up the others: a run returns as soon
 * as its sends are started, and replies are recorded in small batches.
 */
export function createDispatchLoop(deps: {
  db: Kysely<Database>;
  nc: NatsConnection;
  log: Logger;
  metrics: DispatchMetrics;
  requestTimeoutMs: number;
  maxInFlight: number;
  /** Opens the secrets that task params refer to, for the message to the one agent that needs them. */
  secrets: Pick<SecretStore, 'reveal'>;
  /** Asks for another run (slots freed up after a run that filled them all). */
  kick(): void;
}): DispatchLoop {
  const { db, nc, log } = deps;
  // Longer than a request can take, so a live hub's claim never lapses mid-request.
  const leaseMs = deps.requestTimeoutMs * 3;
  const inFlight = new Set<Promise<void>>();
  let saturated = false;

  const send = async (task: ClaimedTask, secrets: RevealedSecrets): Promise<Outcome> => {
    const names = [...new Set(collectSecretRefs(task.params).map((r) => r.name))];
    const problems = names.flatMap((name) => secrets.problems.get(name) ?? []);
    if (problems.length > 0) return { kind: 'rejected', task, error: { code: 'invalid_input', message: problems.join('; ').slice(0, 4000) } };
    let data: Uint8Array;
    try {
      data = encode(messages.task, {
        kind: 'task',
        taskId: task.id,
        type: task.type,
        // Values exist only in this message: the stored params keep the bare references.
        params: mapSecretRefs(task.params, (ref) => ({ $secret: ref.$secret, value: secrets.values.get(ref.$secret) })),
        timeoutMs: task.timeout_ms,
        expiresAt: task.expires_at.toISOString(),
      });
    } catch (err) {
      return { kind: 'rejected', task, error: { code: 'invalid_input', message: `task cannot be encoded: ${(err as Error).message}`.slice(0, 4000) } };
    }
    try {
      const reply = decode(messages.taskReply, (await nc.request(subjects.agent.task(task.host_id), data, { timeout: deps.requestTimeoutMs })).data);
      if (reply.taskId !== task.id) {
        log.warn({ taskId: task.id, hostId: task.host_id, replyTaskId: reply.taskId }, 'task reply names another task; will retry');
        return { kind: 'retry', task };
      }
      if (reply.status !== 'rejected') return { kind: 'dispatched', task };
      const code = task.task_types.includes(task.type) ? 'invalid_input' : 'unknown_type';
      // An agent quoting its input back in the reason must not put a secret into the task row.
      const reason = redactSecrets(
        reply.reason ?? 'rejected by the agent',
        names.flatMap((n) => secrets.values.get(n) ?? []),
      );
      return { kind: 'rejected', task, error: { code, message: reason } };
    } catch (err) {
      if (err instanceof DecodeError) {
        log.warn({ taskId: task.id, hostId: task.host_id, reason: err.reason }, 'malformed task reply; will retry');
      } else {
        const { unreachable, reason } = describeRequestError(err);
        log[unreachable ? 'debug' : 'warn']({ taskId: task.id, hostId: task.host_id, reason }, 'task not delivered; will retry');
      }
      return { kind: 'retry', task };
    }
  };

  const record = async (outcomes: Outcome[]): Promise<undefined[]> => {
    const dispatched = outcomes.filter((o) => o.kind === 'dispatched').map((o) => o.task.id);
    const retry = outcomes.filter((o) => o.kind === 'retry').map((o) => o.task.id);
    if (dispatched.length > 0) {
      const changed = await transitionTasks(db, {
        where: (eb) => eb.and([eb('id', 'in', dispatched), eb('state', '=', 'queued')]),
        to: 'dispatched',
        set: { dispatched_at: sql<Date>`now()` },
      });
      if (changed.length > 0) {
        const latencies = await db
          .selectFrom('tasks')
          .select(sql<number>`extract(epoch from dispatched_at - created_at)::float8`.as('seconds'))
          .where('id', 'in', changed)
          .execute();
        for (const l of latencies) deps.metrics.dispatchLatency.observe(l.seconds);
      }
    }
    if (retry.length > 0) {
      // Give up the lease so the next run sends again instead of waiting for it to lapse.
      // Locked in id order first, like every multi-row task write, so it cannot deadlock with them.
      await db
        .with('locked', (qb) => qb.selectFrom('tasks').select('id').where('id', 'in', retry).where('state', '=', 'queued').orderBy('id').forUpdate())
        .updateTable('tasks')
        .set({ dispatched_at: null })
        .where((eb) => eb('id', 'in', eb.selectFrom('locked').select('locked.id')))
        .where('state', '=', 'queued')
        .execute();
    }
    for (const o of outcomes) {
      if (o.kind !== 'rejected') continue;
      log.warn({ taskId: o.task.id, hostId: o.task.host_id, error: o.error }, 'task rejected (by the agent, or unsendable); marked failed');
      await transitionTasks(db, {
        where: (eb) => eb.and([eb('id', '=', o.task.id), eb('state', '=', 'queued')]),
        to: 'failed',
        error: o.error,
        set: { finished_at: sql<Date>`now()` },
      });
    }
    return outcomes.map(() => undefined);
  };
  const outcomes = createBatchWriter(record, { maxDelayMs: 5, maxItems: 500 });

  return {
    async run() {
      const room = deps.maxInFlight - inFlight.size;
      if (room <= 0) {
        saturated = true;
        return;
      }
      const claimed = await claimTasks(db, { limit: room, leaseMs, perHostFactor: PER_HOST_FACTOR });
      if (claimed.length === room) saturated = true;
      if (claimed.length > 0) log.debug({ count: claimed.length }, 'sending tasks');
      const secrets = await deps.secrets.reveal(claimed.flatMap((t) => collectSecretRefs(t.params).map((r) => r.name)));
      for (const task of claimed) {
        const p: Promise<void> = send(task, secrets)
          .then((o) => outcomes.add(o))
          .catch((err: unknown) => log.error({ err, taskId: task.id }, 'recording a dispatch outcome failed; the task is sent again when its lease lapses'))
          .finally(() => {
            inFlight.delete(p);
            if (saturated && inFlight.size <= deps.maxInFlight / 2) {
              saturated = false;
              deps.kick();
            }
          });
        inFlight.add(p);
      }
    },
    async drain() {
      await Promise.allSettled([...inFlight]);
      await outcomes.close();
    },
  };
}
