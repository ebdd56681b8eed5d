import type { Kysely } from 'kysely';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '@keyfleet/log';
import { subjects } from '@keyfleet/proto/v1';
import pkg from '../../package.json' with { type: 'json' };
import type { SecretStore } from '../secrets/secret-store.js';
import type { Database } from '../store/database.js';
import { createBatchWriter } from './batch-writer.js';
import { writeProgress, type ProgressItem } from './write-progress.js';
import { createCanceller } from './canceller.js';
import { createLimiter } from './limiter.js';
import { createMessageHandler } from './message-handler.js';
import { createDispatchLoop, type DispatchMetrics } from './dispatch-loop.js';
import { createSerialRunner } from './serial-runner.js';
import { createSweeper } from './sweeper.js';
import type { ResultProjections } from './result-projection.js';
import { writeResults } from './write-results.js';
import { type HeartbeatItem, writeHeartbeats } from './write-heartbeats.js';

export interface Dispatcher {
  /** Subscribes to agent messages and starts the dispatch loop and the sweeper. */
  start(): Promise<void>;
  /** Stops taking messages, finishes what is in flight; leaves the NATS connection open. */
  stop(): Promise<void>;
  /** Dispatches queued tasks now (e.g. right after the API created some). */
  kick(): void;
  /** Cancels tasks: queued ones here, dispatched/running ones by asking their agents. */
  cancel(taskIds: string[], reason: string): Promise<void>;
}

export interface DispatcherDeps {
  db: Kysely<Database>;
  nc: NatsConnection;
  log: Logger;
  metrics: DispatchMetrics;
  /** Fills secret values into task messages, and masks them in results. */
  secrets: Pick<SecretStore, 'reveal'>;
  /** The features' read models, updated from results as they are stored. */
  projections?: readonly ResultProjections[];
  /** A host is offline after this many heartbeat intervals without a heartbeat. Default 3. */
  offlineAfterMissedHeartbeats?: number;
  /** Default 1000. */
  dispatchIntervalMs?: number;
  /** How long past `timeoutMs` the hub waits for a result before failing the task. Default 10000. */
  resultGraceMs?: number;
  /** Default 1000. */
  sweepIntervalMs?: number;
  /** How long to wait for an agent's reply to a task or cancel request. Default 5000. */
  requestTimeoutMs?: number;
  /** Bytes per second (and at once) taken from each agent; more is dropped. Default AGENT_LIMITS. */
  agentDataRate?: { data: number; dataBurstBytes: number };
}

/** NATS requests in flight at once (task sends and cancels each). */
const MAX_IN_FLIGHT = 2048;

/**
 * The hub's NATS side: takes agent messages (hello, heartbeat, progress,
 * results), sends queued tasks, applies deadlines and cancels. Postgres holds
 * all state and every write is conditional, so several hubs can run one each.
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { db, nc } = deps;
  const log = deps.log.child({ component: 'dispatcher' });
  const requestTimeoutMs = deps.requestTimeoutMs ?? 5000;

  const loop = createDispatchLoop({
    db,
    nc,
    log,
    metrics: deps.metrics,
    requestTimeoutMs,
    maxInFlight: MAX_IN_FLIGHT,
    secrets: deps.secrets,
    kick: () => dispatchRunner.kick(),
  });
  const dispatchRunner = createSerialRunner(loop.run, { name: 'dispatch loop', intervalMs: deps.dispatchIntervalMs ?? 1000, log });
  const sweeper = createSweeper({
    db,
    log,
    resultGraceMs: deps.resultGraceMs ?? 10_000,
    offlineAfterMissedHeartbeats: deps.offlineAfterMissedHeartbeats ?? 3,
  });
  const sweepRunner = createSerialRunner(sweeper.sweep, { name: 'sweeper', intervalMs: deps.sweepIntervalMs ?? 1000, log });
  const canceller = createCanceller({ db, nc, log, limiter: createLimiter(MAX_IN_FLIGHT), requestTimeoutMs });
  const results = createBatchWriter((items: Parameters<typeof writeResults>[4]) => writeResults(db, log, deps.secrets, deps.projections ?? [], items), {
    maxDelayMs: 5,
    maxItems: 500,
  });

  const progress = createBatchWriter((items: ProgressItem[]) => writeProgress(db, log, deps.secrets, items), { maxDelayMs: 5, maxItems: 500 });
  // Nothing waits on a heartbeat: a longer delay than results' makes fuller batches at fleet scale.
  const heartbeats = createBatchWriter((items: HeartbeatItem[]) => writeHeartbeats(db, items), { maxDelayMs: 50, maxItems: 500 });

  const background = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    const tracked = p.catch((err: unknown) => log.error({ err }, 'background dispatcher work failed')).finally(() => background.delete(tracked));
    background.add(tracked);
  };

  const handle = createMessageHandler({
    db,
    log,
    hubVersion: pkg.version,
    results,
    progress,
    heartbeats,
    onOnline: (hostId, via) => {
      dispatchRunner.kick();
      if (via === 'hello') track(canceller.resendForHost(hostId));
    },
    onResultsStored: () => dispatchRunner.kick(),
    agentDataRate: deps.agentDataRate,
  });

  let sub: Subscription | undefined;

  return {
    async start() {
      if (sub) throw new Error('dispatcher already started');
      sub = nc.subscribe(subjects.hub.wildcard, {
        queue: subjects.hubQueue,
        callback: (err, msg) => {
          if (err) log.error({ err }, 'agent message subscription failed');
          else track(handle(msg));
        },
      });
      // The server must know the subscription before anyone relies on it.
      await nc.flush();
      dispatchRunner.start();
      sweepRunner.start();
      log.info({ subject: subjects.hub.wildcard, queue: subjects.hubQueue }, 'dispatcher started');
    },
    async stop() {
      await Promise.all([dispatchRunner.stop(), sweepRunner.stop()]);
      if (sub && !sub.isClosed()) await sub.drain().catch((err: unknown) => log.warn({ err }, 'draining the agent subscription failed'));
      sub = undefined;
      while (background.size > 0) await Promise.allSettled([...background]);
      await results.close();
      await progress.close();
      await heartbeats.close();
      await loop.drain();
      log.info('dispatcher stopped');
    },
    kick: () => dispatchRunner.kick(),
    cancel: (taskIds, reason) => canceller.cancel(taskIds, reason),
  };
}
