import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { lockDir } from '@keyfleet/dir-lock';
import { createLogger, type Logger } from '@keyfleet/log';
import {
  ack,
  cancel as cancelMessage,
  cancelReply,
  decode,
  DecodeError,
  encode,
  heartbeat as heartbeatMessage,
  hello,
  progress as progressMessage,
  rejection,
  result as resultMessage,
  subjects,
  task as taskMessage,
  taskReply,
  welcome,
  type TaskReply,
} from '@keyfleet/proto/v1';
import { AGENT_VERSION } from './agent-version.js';
import { backoffDelay } from './backoff-delay.js';
import { connectNats } from './connect-nats.js';
import { decommissionMarker } from './decommission-marker.js';
import { Executor } from './executor.js';
import { HeartbeatCollector } from './heartbeat.js';
import { identityStore } from './identity-store.js';
import { Journal } from './journal.js';
import type { FeatureSet } from './compose-features.js';
import { ResultSender } from './result-sender.js';

export interface AgentOptions {
  stateDir: string;
  heartbeatIntervalMs?: number;
  concurrency?: number;
  /** Overrides the servers stored at enrollment. */
  natsServers?: string[];
  /** PEM of the CA for the NATS servers' TLS certificates. */
  natsCa?: string;
  /** What this agent runs: task handlers and background services (main.ts passes every feature of the build). */
  features: FeatureSet;
  log?: Logger;
  /** How long `stop` lets running tasks finish before leaving them to be reported as interrupted. */
  stopGraceMs?: number;
  /** Aborts waiting for the first NATS connection. */
  signal?: AbortSignal;
  /** Retry pacing for hello and results; the defaults suit production. */
  timing?: { retryInitialMs?: number; retryMaxMs?: number; requestTimeoutMs?: number };
}

export interface RunningAgent {
  hostId: string;
  stop(): Promise<void>;
}

const JOURNAL_RETENTION_MS = 7 * 24 * 3600_000;
const PRUNE_EVERY_MS = 6 * 3600_000;
const helloReply = z.discriminatedUnion('kind', [welcome, rejection]);
/** What nats-server says as it closes the connection of a user whose JWT was revoked. */
const REVOKED_BY_NATS = /user authentication revoked/i;
const DECOMMISSIONED =
  'this host was decommissioned: the hub revoked its NATS credential, so the agent stopped and will not connect again; to rejoin, stop it, enroll again (keyfleet-agent enroll --force) and start it';
/** Keeps an idle (decommissioned) agent's process alive; it does nothing else. */
const IDLE_TICK_MS = 2 ** 30;
const resultReply = z.discriminatedUnion('kind', [ack, rejection]);
const reasonOf = (err: unknown) => (err instanceof DecodeError ? err.reason : err instanceof Error ? err.message : String(err));

/**
 * Runs the agent: one NATS connection (re-established forever), hello on every
 * (re)connect until welcomed, heartbeats, and tasks executed exactly once in effect
 * through the journal. Resolves once connected and listening for tasks. Holds the state
 * dir until stopped: a second agent on it would execute every task again.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  // Absolute from here on: handlers and services start processes in other working directories.
  const opts = { ...options, stateDir: resolve(options.stateDir) };
  const lock = await lockDir(opts.stateDir, 'keyfleet-agent');
  try {
    const agent = await runAgent(opts);
    return { hostId: agent.hostId, stop: () => agent.stop().finally(() => lock.release()) };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function runAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.log ?? createLogger('keyfleet-agent');
  const { identity, credentials } = await identityStore.load(opts.stateDir);
  const { hostId } = identity;
  const { handlers } = opts.features;
  const taskTypes = Object.keys(handlers);
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 15_000;
  const concurrency = opts.concurrency ?? 4;
  const retryInitialMs = opts.timing?.retryInitialMs ?? 1_000;
  const retryMaxMs = opts.timing?.retryMaxMs ?? 30_000;
  const requestTimeoutMs = opts.timing?.requestTimeoutMs ?? 10_000;

  // Decommissioned before: the credential will never work again, so not even NATS is tried.
  const decommissioned = await decommissionMarker.read(opts.stateDir, hostId);
  if (decommissioned) {
    log.error({ hostId, since: decommissioned.at, reason: decommissioned.reason }, DECOMMISSIONED);
    const keepAlive = setInterval(() => undefined, IDLE_TICK_MS);
    return { hostId, stop: async () => clearInterval(keepAlive) };
  }

  const journal = await Journal.open(join(opts.stateDir, 'journal'), log);
  await journal.prune(JOURNAL_RETENTION_MS);

  const lifetime = new AbortController();
  let stopping = false;
  let nc: NatsConnection | undefined;
  let connected = false;
  let subs: Subscription[] = [];

  const publish = (subject: string, data: () => Uint8Array) => {
    if (!nc || !connected) return;
    try {
      nc.publish(subject, data());
    } catch (err) {
      log.warn({ subject, reason: reasonOf(err) }, 'could not publish');
    }
  };

  const sender = new ResultSender({
    log,
    initialDelayMs: retryInitialMs,
    maxDelayMs: retryMaxMs,
    acked: (taskId) => journal.markAcked(taskId),
    deliver: async (taskId, body) => {
      if (!nc) throw new Error('not connected to NATS');
      const reply = await nc.request(subjects.hub.result(hostId), encode(resultMessage, { kind: 'result', hostId, taskId, ...body }), {
        timeout: requestTimeoutMs,
      });
      const msg = decode(resultReply, reply.data);
      if (msg.kind === 'rejection') throw new Error(`hub rejected the result: ${msg.reason}`);
      if (msg.taskId !== taskId) throw new Error(`hub acknowledged task ${msg.taskId} instead of ${taskId}`);
    },
  });

  const startedAt = new Date().toISOString();
  const executor = new Executor({
    handlers,
    concurrency,
    log,
    stateDir: opts.stateDir,
    agent: {
      hostId,
      version: AGENT_VERSION,
      startedAt,
      natsRttMs: async () => (nc && !nc.isClosed() && connected ? nc.rtt().catch(() => undefined) : undefined),
      journalStats: () => journal.stats(),
    },
    hooks: {
      started: async (taskId, startedAt) => {
        await journal.markStarted(taskId, startedAt);
        publish(subjects.hub.progress(hostId), () => encode(progressMessage, { kind: 'progress', hostId, taskId, stage: 'started', at: startedAt }));
      },
      progress: (taskId, percent, message, transfer) =>
        publish(subjects.hub.progress(hostId), () =>
          encode(progressMessage, { kind: 'progress', hostId, taskId, stage: 'progress', percent, message, ...transfer, at: new Date().toISOString() }),
        ),
      finished: async (taskId, result) => {
        await journal.markFinished(taskId, result);
        log.info({ taskId, outcome: result.outcome, code: result.error?.code }, 'task finished');
        sender.send(taskId, result);
      },
    },
  });

  const recovered = await journal.recover();

  // Before NATS: what a feature keeps up on the host (e.g. Keycloak's front) must not wait for the hub.
  const services: Array<{ name: string; stop(): Promise<void> }> = [];
  for (const service of opts.features.services) {
    try {
      const running = await service.start({
        stateDir: opts.stateDir,
        log,
        signal: lifetime.signal,
        runningTasks: () => executor.runningCount,
        hostId,
        publishToHub: (subject, data) => publish(subject, () => data),
        requestHub: async (subject, data) => {
          if (!nc || !connected) throw new Error('not connected to the hub');
          return (await nc.request(subject, data, { timeout: requestTimeoutMs })).data;
        },
        connected: () => connected,
      });
      services.push({ name: service.name, stop: () => running.stop() });
    } catch (err) {
      log.error({ service: service.name, reason: reasonOf(err) }, 'a feature service could not start; the agent runs without it');
    }
  }
  const stopServices = () =>
    Promise.all(
      services.map((s) => s.stop().catch((err: unknown) => log.warn({ service: s.name, reason: reasonOf(err) }, 'a feature service did not stop cleanly'))),
    );

  const respond = (msg: Msg, data: Uint8Array) => {
    if (msg.reply) msg.respond(data);
  };

  const onTask = (msg: Msg) => {
    // Unanswered, the hub dispatches the task again once this agent is back.
    if (stopping) return;
    let t: z.infer<typeof taskMessage>;
    try {
      t = decode(taskMessage, msg.data);
    } catch (err) {
      const reason = `malformed task message: ${reasonOf(err)}`;
      log.warn({ reason }, 'refused a task message');
      respond(msg, encode(rejection, { kind: 'rejection', reason: reason.slice(0, 2000) }));
      return;
    }
    const reply = (status: TaskReply['status'], reason?: string) =>
      respond(msg, encode(taskReply, { kind: 'task.reply', taskId: t.taskId, status, reason: reason?.slice(0, 2000) }));
    const seen = journal.state(t.taskId);
    if (seen) {
      reply('duplicate');
      const result = journal.get(t.taskId)?.result;
      // The hub asking again for a finished task most likely lost our result: send it now.
      if (seen === 'finished' && result) sender.send(t.taskId, result);
      return;
    }
    if (!Object.hasOwn(handlers, t.type)) {
      reply('rejected', `unknown task type "${t.type}"; this agent handles: ${taskTypes.join(', ')}`);
      return;
    }
    journal.accept(t).then(
      (fresh) => {
        if (!fresh) return reply('duplicate');
        log.info({ taskId: t.taskId, type: t.type }, 'task accepted');
        reply('accepted');
        executor.submit(t);
      },
      (err: unknown) => {
        log.error({ taskId: t.taskId, reason: reasonOf(err) }, 'could not journal a task');
        reply('rejected', `agent could not journal the task: ${reasonOf(err)}`);
      },
    );
  };

  const onCancel = (msg: Msg) => {
    let c: z.infer<typeof cancelMessage>;
    try {
      c = decode(cancelMessage, msg.data);
    } catch (err) {
      const reason = `malformed cancel message: ${reasonOf(err)}`;
      log.warn({ reason }, 'refused a cancel message');
      respond(msg, encode(rejection, { kind: 'rejection', reason: reason.slice(0, 2000) }));
      return;
    }
    const found = executor.cancel(c.taskId, c.reason);
    log.info({ taskId: c.taskId, found }, 'cancel requested');
    respond(msg, encode(cancelReply, { kind: 'cancel.reply', taskId: c.taskId, found }));
  };

  const collector = new HeartbeatCollector();
  let collecting = false;
  const beat = async () => {
    if (!connected || collecting) return;
    collecting = true;
    try {
      const body = await collector.collect(executor.runningCount);
      publish(subjects.hub.heartbeat(hostId), () => encode(heartbeatMessage, { kind: 'heartbeat', hostId, ...body }));
    } catch (err) {
      log.warn({ reason: reasonOf(err) }, 'could not collect heartbeat');
    } finally {
      collecting = false;
    }
  };

  let helloRound = 0;
  const sayHello = async (conn: NatsConnection) => {
    const round = ++helloRound;
    for (let attempt = 0; !stopping && round === helloRound && !conn.isClosed(); attempt++) {
      try {
        const body = encode(hello, {
          kind: 'hello',
          hostId,
          hostname: hostname().slice(0, 253),
          agentVersion: AGENT_VERSION,
          taskTypes,
          labels: identity.labels,
          heartbeatIntervalMs,
          maxConcurrency: concurrency,
        });
        const msg = decode(helloReply, (await conn.request(subjects.hub.hello(hostId), body, { timeout: requestTimeoutMs })).data);
        if (msg.kind === 'welcome') {
          log.info({ hostId, hubVersion: msg.hubVersion }, 'hub welcomed the agent');
          void beat();
          return;
        }
        if (msg.code === 'revoked') {
          onRevoked(`hub: ${msg.reason}`);
          return;
        }
        log.warn({ reason: msg.reason }, 'hub rejected hello; will retry');
      } catch (err) {
        log.warn({ reason: reasonOf(err) }, 'hello not answered; will retry');
      }
      await sleep(backoffDelay(attempt, retryInitialMs, retryMaxMs), undefined, { signal: lifetime.signal }).catch(() => undefined);
    }
  };

  let revoked = false;
  let keepAlive: NodeJS.Timeout | undefined;
  /** Said once, then the agent stops its work and idles: retrying can never succeed. */
  const onRevoked = (reason: string) => {
    if (revoked || stopping) return;
    revoked = true;
    log.error({ hostId, reason }, DECOMMISSIONED);
    // Idle rather than exit: a supervisor restarting exited services (systemd Restart=always)
    // would otherwise start it again and again. The marker keeps it quiet after a restart.
    keepAlive = setInterval(() => undefined, IDLE_TICK_MS);
    // Nothing can be delivered any more; closing now also ends the client's reconnect attempts.
    if (nc && !nc.isClosed()) void nc.close();
    void decommissionMarker
      .write(opts.stateDir, { hostId, at: new Date().toISOString(), reason })
      .catch((err: unknown) => log.warn({ reason: reasonOf(err) }, 'could not remember the decommission in the state dir'))
      .then(() => stop());
  };

  const watchStatus = async (conn: NatsConnection) => {
    for await (const s of conn.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        sender.setOnline(false);
        log.warn({ server: s.server }, 'disconnected from NATS');
      } else if (s.type === 'reconnect') {
        connected = true;
        log.info({ server: s.server }, 'reconnected to NATS');
        sender.setOnline(true);
        void sayHello(conn);
      } else if (s.type === 'error') {
        if (REVOKED_BY_NATS.test(s.error.message)) onRevoked(`NATS: ${s.error.message}`);
        else log.warn({ reason: s.error.message }, 'NATS reported an error');
      }
    }
  };

  const listen = async (conn: NatsConnection) => {
    const callback = (handle: (m: Msg) => void) => (err: Error | null, m: Msg) => {
      if (err) log.error({ reason: err.message }, 'subscription failed');
      else handle(m);
    };
    subs = [
      conn.subscribe(subjects.agent.task(hostId), { callback: callback(onTask) }),
      conn.subscribe(subjects.agent.cancel(hostId), { callback: callback(onCancel) }),
    ];
    // The hub dispatches right after welcoming us, so the subscriptions must be live before hello.
    await conn.flush();
    nc = conn;
    connected = true;
    void watchStatus(conn);
    sender.setOnline(true);
    void sayHello(conn);
  };

  const startSignal = opts.signal ? AbortSignal.any([opts.signal, lifetime.signal]) : lifetime.signal;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const connection = (async () => {
    while (!stopping) {
      const servers = opts.natsServers ?? identity.natsServers;
      const conn = await connectNats({ servers, hostId, jwt: credentials.jwt, seed: credentials.seed, ca: opts.natsCa, log, signal: startSignal });
      log.info({ hostId, server: conn.getServer() }, 'connected to NATS');
      await listen(conn);
      markReady();
      const err = await conn.closed();
      connected = false;
      sender.setOnline(false);
      if (stopping || revoked) return;
      log.error({ reason: err ? err.message : 'closed' }, 'NATS connection closed; connecting again');
    }
  })();
  const connectionEnded = connection.then(
    () => undefined,
    (err: unknown) => err,
  );
  const early = await Promise.race([ready, connectionEnded]);
  if (early !== undefined) {
    lifetime.abort();
    await stopServices();
    throw new Error(`agent did not start: ${reasonOf(early)}`);
  }

  for (const task of recovered.run) executor.submit(task);
  for (const { taskId, result } of recovered.resend) sender.send(taskId, result);
  const heartbeatTimer = setInterval(() => void beat(), heartbeatIntervalMs);
  const pruneTimer = setInterval(
    () => void journal.prune(JOURNAL_RETENTION_MS).catch((err: unknown) => log.warn({ reason: reasonOf(err) }, 'journal prune failed')),
    PRUNE_EVERY_MS,
  );
  pruneTimer.unref();

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      log.info({ hostId, running: executor.runningCount }, 'agent stopping');
      clearInterval(heartbeatTimer);
      clearInterval(pruneTimer);
      lifetime.abort();
      await stopServices();
      for (const sub of subs) sub.unsubscribe();
      await executor.stop(opts.stopGraceMs ?? 10_000);
      sender.stop();
      if (nc && !nc.isClosed()) {
        await Promise.race([nc.drain().catch(() => undefined), sleep(5_000, undefined, { ref: false })]);
        if (!nc.isClosed()) await nc.close();
      }
      const err = await connectionEnded;
      if (err !== undefined && !(err instanceof Error && err.name === 'AbortError'))
        log.warn({ reason: reasonOf(err) }, 'NATS connection loop ended with an error');
      log.info({ hostId }, 'agent stopped');
    })());
  log.info({ hostId, taskTypes, concurrency, heartbeatIntervalMs }, 'agent started');
  return {
    hostId,
    stop: () => {
      clearInterval(keepAlive);
      return stop();
    },
  };
}
