// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { connect, jwtAuthenticator, nkeys, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { NatsServer } from '@keyfleet/test-harness';
import { decode, encode, messages, subjects, type Cancel, type Hello, type Result, type Task } from '@keyfleet/proto/v1';
import { z } from 'zod';

const helloReply = z.discriminatedUnion('kind', [messages.welcome, messages.rejection]);
const resultReply = z.discriminatedUnion('kind', [messages.ack, messages.rejection]);

export type HelloReply = z.infer<typeof helloReply>;
export type ResultReply = z.infer<typeof resultReply>;

export interface FakeAgent {
  hostId: string;
  nc: NatsConnection;
  /** Every task request received, in order (duplicates included). */
  tasks: Task[];
  cancels: Cancel[];
  /** How to answer a task request; default: accepted at once. */
  onTask: (task: Task) => Promise<{ status: 'accepted' | 'duplicate' | 'rejected'; reason?: string }>;
  /** Whether a cancelled task is running here; default true. */
  onCancel: (cancel: Cancel) => boolean;
  hello(overrides?: Partial<Hello>): Promise<HelloReply>;
  heartbeat(): Promise<void>;
  progress(taskId: string, stage: 'started' | 'progress', extra?: { percent?: number; message?: string; bytes?: number; totalBytes?: number }): Promise<void>;
  result(taskId: string, outcome: Result['outcome'], extra?: Partial<Result>): Promise<ResultReply>;
  /** A raw request from this agent's credential, for malformed messages. */
  request(subject: string, data: Uint8Array | string): Promise<Msg>;
  close(): Promise<void>;
}

/**
 * The agent side of the wire, as a test needs it: a real NATS connection with an
 * agent credential (own subjects, own inbox), no journal, no handlers.
 */
export async function connectFakeAgent(nats: NatsServer, hostId: string): Promise<FakeAgent> {
  const user = nkeys.createUser();
  const jwt = await nats.authority.agentJwt(hostId, user.getPublicKey());
  const nc = await connect({
    servers: nats.url,
    authenticator: jwtAuthenticator(jwt, user.getSeed()),
    inboxPrefix: subjects.inboxPrefix(hostId),
  });

  const agent: FakeAgent = {
    hostId,
    nc,
    tasks: [],
    cancels: [],
    onTask: async () => ({ status: 'accepted' }),
    onCancel: () => true,
    async hello(overrides = {}) {
      const body = {
        kind: 'hello' as const,
        hostId,
        hostname: `${hostId}.test`,
        agentVersion: '0.0.1-test',
        taskTypes: ['noop', 'system.info'],
        labels: { role: 'agent-claimed' },
        heartbeatIntervalMs: 15_000,
        maxConcurrency: 4,
        ...overrides,
      };
      const reply = await nc.request(subjects.hub.hello(hostId), encode(messages.hello, body), { timeout: 5000 });
      return decode(helloReply, reply.data);
    },
    async heartbeat() {
      nc.publish(
        subjects.hub.heartbeat(hostId),
        encode(messages.heartbeat, {
          kind: 'heartbeat',
          hostId,
          uptimeSec: 12,
          cpuPercent: 3.5,
          load: [0.1, 0.2, 0.3],
          memory: { totalBytes: 1000, usedBytes: 400 },
          disks: [{ mount: '/', sizeBytes: 10_000, usedBytes: 2_000 }],
          runningTasks: 0,
        }),
      );
      await nc.flush();
    },
    async progress(taskId, stage, extra = {}) {
      nc.publish(subjects.hub.progress(hostId), encode(messages.progress, { kind: 'progress', hostId, taskId, stage, at: new Date().toISOString(), ...extra }));
      await nc.flush();
    },
    async result(taskId, outcome, extra = {}) {
      const body = { kind: 'result' as const, hostId, taskId, outcome, finishedAt: new Date().toISOString(), ...extra };
      const reply = await nc.request(subjects.hub.result(hostId), encode(messages.result, body), { timeout: 5000 });
      return decode(resultReply, reply.data);
    },
    request(subject, data) {
      return nc.request(subject, typeof data === 'string' ? new TextEncoder().encode(data) : data, { timeout: 5000 });
    },
    async close() {
      if (!nc.isClosed()) await nc.close();
    },
  };

  nc.subscribe(subjects.agent.task(hostId), {
    callback: (err, msg) => {
      if (err) return;
      const task = decode(messages.task, msg.data);
      agent.tasks.push(task);
      void agent.onTask(task).then((answer) => msg.respond(encode(messages.taskReply, { kind: 'task.reply', taskId: task.taskId, ...answer })));
    },
  });
  nc.subscribe(subjects.agent.cancel(hostId), {
    callback: (err, msg) => {
      if (err) return;
      const cancel = decode(messages.cancel, msg.data);
      agent.cancels.push(cancel);
      msg.respond(encode(messages.cancelReply, { kind: 'cancel.reply', taskId: cancel.taskId, found: agent.onCancel(cancel) }));
    },
  });
  await nc.flush();
  return agent;
}
