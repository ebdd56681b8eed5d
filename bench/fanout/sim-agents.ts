/**
 * A worker process holding many simulated agents, each with its own key pair,
 * enrollment, NATS connection and per-agent credential, speaking protocol v1 exactly
 * as the real agent does (minus the journal and handlers: `noop` answers at once).
 * argv: hubUrl natsUrl count; env KEYFLEET_TOKEN (admin) to mint enrollment tokens.
 */
import { connect, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import * as v1 from '@keyfleet/proto/v1';

const [hubUrl, natsUrl, countArg] = process.argv.slice(2);
const count = Number(countArg);
const admin = process.env.KEYFLEET_TOKEN!;

async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${hubUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json as T;
}

async function simAgent(i: number): Promise<NatsConnection> {
  const user = createUser();
  const { token } = await post<{ token: string }>('/v1/enrollment-tokens', { labels: { bench: 'fanout' } }, admin);
  const { hostId, jwt } = await post<{ hostId: string; jwt: string }>('/v1/enroll', {
    token,
    publicKey: user.getPublicKey(),
    hostname: `sim-${process.pid}-${i}`,
    labels: {},
    agentVersion: 'bench',
  });
  const nc = await connect({
    servers: natsUrl,
    authenticator: jwtAuthenticator(jwt, user.getSeed()),
    inboxPrefix: v1.subjects.inboxPrefix(hostId),
    maxReconnectAttempts: -1,
  });
  nc.subscribe(v1.subjects.agent.task(hostId), {
    callback: (err, msg) => {
      if (err) return;
      const t = v1.decode(v1.task, msg.data);
      msg.respond(v1.encode(v1.taskReply, { kind: 'task.reply', taskId: t.taskId, status: 'accepted' }));
      const startedAt = new Date().toISOString();
      nc.publish(v1.subjects.hub.progress(hostId), v1.encode(v1.progress, { kind: 'progress', hostId, taskId: t.taskId, stage: 'started', at: startedAt }));
      const result = v1.encode(v1.result, {
        kind: 'result',
        hostId,
        taskId: t.taskId,
        outcome: 'succeeded',
        output: { delayedMs: 0, payload: '' },
        startedAt,
        finishedAt: new Date().toISOString(),
      });
      void (async () => {
        for (let attempt = 0; attempt < 20; attempt++) {
          try {
            const ack = await nc.request(v1.subjects.hub.result(hostId), result, { timeout: 5000 });
            if (v1.decode(v1.ack, ack.data).taskId === t.taskId) return;
          } catch {
            // not acked yet: resend, as the real agent does
          }
        }
      })();
    },
  });
  await nc.request(
    v1.subjects.hub.hello(hostId),
    v1.encode(v1.hello, {
      kind: 'hello',
      hostId,
      hostname: `sim-${i}`,
      agentVersion: 'bench',
      taskTypes: ['noop'],
      labels: {},
      heartbeatIntervalMs: 600_000,
      maxConcurrency: 4,
    }),
    { timeout: 30_000 },
  );
  return nc;
}

const conns: NatsConnection[] = [];
// Enroll a few at a time: enough to be quick, few enough not to flood the hub's pool.
for (let i = 0; i < count; i += 10) {
  conns.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => simAgent(i + j)))));
}
process.stdout.write(`ready ${conns.length}\n`);
process.on('SIGTERM', () => void Promise.all(conns.map((c) => c.close())).then(() => process.exit(0)));
