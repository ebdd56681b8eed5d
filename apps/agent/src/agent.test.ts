import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import {
  ack,
  cancel,
  cancelReply,
  decode,
  encode,
  heartbeat,
  hello,
  parseHubSubject,
  progress,
  rejection,
  result,
  subjects,
  taskReply,
  welcome,
  type Heartbeat,
  type Hello,
  type Progress,
  type Result,
} from '@keyfleet/proto/v1';
import { startAgent, type AgentOptions, type RunningAgent } from './agent.js';
import { features } from './features/index.js';
import { identityStore } from './identity-store.js';
import type { Handlers } from './task-handler.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const HOST = 'h-itest';
const taskAnswer = z.discriminatedUnion('kind', [taskReply, rejection]);
const cancelAnswer = z.discriminatedUnion('kind', [cancelReply, rejection]);

/** Plays the hub on a raw NATS connection: welcomes, records, and acks results only when told to. */
class FakeHub {
  hellos: Hello[] = [];
  heartbeats: Heartbeat[] = [];
  progress: Progress[] = [];
  results: Array<Result & { receivedAt: number }> = [];
  /** withhold: no answer at all, which is what a hub that is down or could not store the result looks like. */
  resultPolicy: 'ack' | 'withhold' | 'reject' = 'withhold';

  constructor(readonly nc: NatsConnection) {
    nc.subscribe(subjects.hub.wildcard, { queue: subjects.hubQueue, callback: (_err, m) => this.onMessage(m) });
  }

  private onMessage(m: Msg) {
    const kind = parseHubSubject(m.subject)?.kind;
    if (kind === 'hello') {
      this.hellos.push(decode(hello, m.data));
      m.respond(encode(welcome, { kind: 'welcome', hubVersion: 'fake-hub' }));
    } else if (kind === 'heartbeat') this.heartbeats.push(decode(heartbeat, m.data));
    else if (kind === 'progress') this.progress.push(decode(progress, m.data));
    else if (kind === 'result') {
      const r = decode(result, m.data);
      this.results.push({ ...r, receivedAt: Date.now() });
      if (this.resultPolicy === 'ack') m.respond(encode(ack, { kind: 'ack', taskId: r.taskId }));
      if (this.resultPolicy === 'reject') m.respond(encode(rejection, { kind: 'rejection', reason: 'database unavailable' }));
    }
  }

  resultsFor(taskId: string) {
    return this.results.filter((r) => r.taskId === taskId);
  }

  /**
   * Resolves once the agent published a heartbeat stamped later than `afterMs` on its clock (the
   * same process here). NATS keeps one connection's messages in order, so anything the agent
   * published before that heartbeat has arrived by then: the positive signal before asserting
   * that something was not sent.
   */
  async heartbeatAfter(afterMs: number) {
    await vi.waitFor(() => expect(this.heartbeats.some((h) => Date.parse(h.sentAt) > afterMs)).toBe(true), { timeout: 10_000 });
  }

  async send(body: Record<string, unknown> | Uint8Array) {
    const data = body instanceof Uint8Array ? body : enc.encode(JSON.stringify(body));
    return decode(taskAnswer, (await this.nc.request(subjects.agent.task(HOST), data, { timeout: 5_000 })).data);
  }

  dispatch(taskId: string, params: unknown, type = 'noop') {
    return this.send({
      proto: 'v1',
      msgId: `m-${taskId}-${Date.now()}`,
      sentAt: new Date().toISOString(),
      kind: 'task',
      taskId,
      type,
      params,
      timeoutMs: 60_000,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    });
  }
}

describe('agent against a real NATS server', () => {
  let nats: NatsServer;
  let hubNc: NatsConnection;
  let hub: FakeHub;
  let stateDir: string;
  let agent: RunningAgent;
  let secrets: { jwt: string; seed: string };
  const logLines: string[] = [];
  const runs = new Map<number, number>();
  const { handlers } = features;
  // sizeBytes doubles as a marker so each test can count its own handler runs.
  const counted: Handlers = {
    ...handlers,
    noop: (input, ctx) => {
      runs.set(input.sizeBytes, (runs.get(input.sizeBytes) ?? 0) + 1);
      return handlers.noop(input, ctx);
    },
  };
  const FAST_RETRIES = { retryInitialMs: 100, retryMaxMs: 400, requestTimeoutMs: 250 };
  const start = (timing: AgentOptions['timing'] = FAST_RETRIES) =>
    startAgent({
      stateDir,
      features: { ...features, handlers: counted },
      concurrency: 1,
      heartbeatIntervalMs: 250,
      stopGraceMs: 100,
      log: createLogger('agent', {
        level: 'debug',
        destination: new Writable({
          write: (c, _e, cb) => {
            logLines.push(String(c));
            cb();
          },
        }),
      }),
      timing,
    });

  beforeAll(async () => {
    nats = await startNats();
    hubNc = await connect({
      servers: nats.url,
      authenticator: credsAuthenticator(enc.encode(await nats.authority.hubCreds())),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    hub = new FakeHub(hubNc);
    await hubNc.flush();
    stateDir = await mkdtemp(join(tmpdir(), 'kf-agent-'));
    const user = createUser();
    secrets = { jwt: await nats.authority.agentJwt(HOST, user.getPublicKey()), seed: dec.decode(user.getSeed()) };
    await identityStore.save(stateDir, { hostId: HOST, hubUrl: 'http://hub.invalid', natsServers: [nats.url], labels: { env: 'test' } }, secrets);
    agent = await start();
  });

  afterAll(async () => {
    await agent?.stop();
    await hubNc?.close();
    await nats?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('says hello with its task types and labels, then sends heartbeats', async () => {
    expect(agent.hostId).toBe(HOST);
    await vi.waitFor(() => expect(hub.hellos.length).toBeGreaterThan(0));
    expect(hub.hellos[0]).toMatchObject({
      hostId: HOST,
      taskTypes: Object.keys(handlers),
      labels: { env: 'test' },
      heartbeatIntervalMs: 250,
      maxConcurrency: 1,
    });
    await vi.waitFor(() => expect(hub.heartbeats.length).toBeGreaterThanOrEqual(2));
    expect(hub.heartbeats[0]).toMatchObject({ hostId: HOST, runningTasks: 0 });
    expect(hub.heartbeats[0]!.memory.totalBytes).toBeGreaterThan(0);
  });

  it('runs a task, re-sends the result until acked, and stops once acked', async () => {
    hub.resultPolicy = 'withhold';
    expect(await hub.dispatch('t-ack', { delayMs: 50, sizeBytes: 11 })).toMatchObject({ kind: 'task.reply', taskId: 't-ack', status: 'accepted' });
    await vi.waitFor(() => expect(hub.progress.find((p) => p.taskId === 't-ack')).toMatchObject({ stage: 'started', hostId: HOST }));
    await vi.waitFor(() => expect(hub.resultsFor('t-ack').length).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
    for (const r of hub.resultsFor('t-ack')) expect(r).toMatchObject({ outcome: 'succeeded', output: { delayedMs: 50, payload: 'x'.repeat(11) } });

    hub.resultPolicy = 'ack';
    await vi.waitFor(async () => expect(JSON.parse(await readFile(join(stateDir, 'journal', 't-ack.json'), 'utf8')).state).toBe('acked'), { timeout: 5_000 });
    const sent = hub.resultsFor('t-ack').length;
    // Past the retry cap (400 ms) plus a request timeout (250 ms) on the agent's clock: a retry still scheduled would have arrived.
    await hub.heartbeatAfter(Date.now() + 1_000);
    expect(hub.resultsFor('t-ack')).toHaveLength(sent);
    expect(runs.get(11)).toBe(1);
  });

  it('answers a redelivered task with duplicate, re-sends its result at once and never runs it again', async () => {
    // Retries a minute apart: a re-send seen within the 10 s below can only be the one the duplicate asked for.
    await agent.stop();
    agent = await start({ retryInitialMs: 60_000, retryMaxMs: 60_000, requestTimeoutMs: 5_000 });
    try {
      hub.resultPolicy = 'reject';
      expect(await hub.dispatch('t-dup', { sizeBytes: 12 })).toMatchObject({ status: 'accepted' });
      await vi.waitFor(() => expect(hub.resultsFor('t-dup')).toHaveLength(1), { timeout: 10_000 });
      await vi.waitFor(() => expect(logLines.join('')).toContain('hub rejected the result: database unavailable'));
      expect(await hub.dispatch('t-dup', { sizeBytes: 12 })).toMatchObject({ kind: 'task.reply', taskId: 't-dup', status: 'duplicate' });
      await vi.waitFor(() => expect(hub.resultsFor('t-dup')).toHaveLength(2), { timeout: 10_000 });
      expect(hub.resultsFor('t-dup')[1]).toMatchObject({ outcome: 'succeeded', output: { payload: 'x'.repeat(12) } });

      hub.resultPolicy = 'ack';
      expect(await hub.dispatch('t-dup', { sizeBytes: 12 })).toMatchObject({ status: 'duplicate' });
      await vi.waitFor(async () => expect(JSON.parse(await readFile(join(stateDir, 'journal', 't-dup.json'), 'utf8')).state).toBe('acked'), {
        timeout: 10_000,
      });
      const sent = hub.resultsFor('t-dup').length;
      // Acked: still a duplicate, still not run, and nothing is sent again.
      expect(await hub.dispatch('t-dup', { sizeBytes: 12 })).toMatchObject({ status: 'duplicate' });
      await hub.heartbeatAfter(Date.now());
      expect(hub.resultsFor('t-dup')).toHaveLength(sent);
      expect(runs.get(12)).toBe(1);
    } finally {
      await agent.stop();
      agent = await start();
    }
  });

  it('rejects a task type it does not handle, with the reason', async () => {
    const reply = await hub.dispatch('t-unknown', {}, 'keycloak.nope');
    expect(reply).toMatchObject({ kind: 'task.reply', status: 'rejected' });
    expect((reply as { reason?: string }).reason).toMatch(/unknown task type "keycloak.nope".*noop, system.info/);
  });

  it('answers malformed task messages with a rejection and keeps working', async () => {
    const garbage = await hub.send(enc.encode('{not json'));
    expect(garbage).toMatchObject({ kind: 'rejection' });
    expect((garbage as { reason: string }).reason).toMatch(/^malformed task message: not UTF-8 JSON/);
    const incomplete = await hub.send({ proto: 'v1', msgId: 'm1', sentAt: new Date().toISOString(), kind: 'task', type: 'noop' });
    expect((incomplete as { reason: string }).reason).toMatch(/malformed task message: .*taskId/);
    expect(logLines.join('')).toMatch(/refused a task message.*not UTF-8 JSON|not UTF-8 JSON.*refused a task message/);

    hub.resultPolicy = 'ack';
    expect(await hub.dispatch('t-after-garbage', { sizeBytes: 13 })).toMatchObject({ status: 'accepted' });
    await vi.waitFor(() => expect(hub.resultsFor('t-after-garbage')[0]).toMatchObject({ outcome: 'succeeded' }));
  });

  it('cancels a running task', async () => {
    hub.resultPolicy = 'ack';
    expect(await hub.dispatch('t-cancel', { delayMs: 60_000, sizeBytes: 14 })).toMatchObject({ status: 'accepted' });
    await vi.waitFor(() => expect(hub.progress.some((p) => p.taskId === 't-cancel' && p.stage === 'started')).toBe(true));
    const body = encode(cancel, { kind: 'cancel', taskId: 't-cancel', reason: 'operator changed their mind' });
    const answer = decode(cancelAnswer, (await hubNc.request(subjects.agent.cancel(HOST), body, { timeout: 5_000 })).data);
    expect(answer).toMatchObject({ kind: 'cancel.reply', taskId: 't-cancel', found: true });
    await vi.waitFor(() =>
      expect(hub.resultsFor('t-cancel')[0]).toMatchObject({ outcome: 'cancelled', error: { code: 'cancelled', message: 'operator changed their mind' } }),
    );
  });

  it('reconnects after NATS restarts, says hello again and keeps delivering results', async () => {
    hub.resultPolicy = 'ack';
    const hellos = hub.hellos.length;
    await nats.restart();
    await vi.waitFor(() => expect(hub.hellos.length).toBeGreaterThan(hellos), { timeout: 20_000, interval: 100 });
    expect(await hub.dispatch('t-after-restart', { sizeBytes: 15 })).toMatchObject({ status: 'accepted' });
    await vi.waitFor(() => expect(hub.resultsFor('t-after-restart')[0]).toMatchObject({ outcome: 'succeeded' }));
  });

  it('reports a task cut off by an agent restart as interrupted and runs the queued one after', async () => {
    hub.resultPolicy = 'ack';
    expect(await hub.dispatch('t-cut', { delayMs: 60_000, sizeBytes: 16 })).toMatchObject({ status: 'accepted' });
    expect(await hub.dispatch('t-queued', { sizeBytes: 17 })).toMatchObject({ status: 'accepted' });
    await vi.waitFor(() => expect(hub.progress.some((p) => p.taskId === 't-cut' && p.stage === 'started')).toBe(true));
    await agent.stop();
    expect(hub.resultsFor('t-cut')).toEqual([]);
    expect(runs.get(17)).toBeUndefined(); // concurrency 1: it was still waiting

    agent = await start();
    await vi.waitFor(() =>
      expect(hub.resultsFor('t-cut')[0]).toMatchObject({
        outcome: 'failed',
        error: { code: 'interrupted', message: 'agent restarted while the task was running' },
      }),
    );
    await vi.waitFor(() => expect(hub.resultsFor('t-queued')[0]).toMatchObject({ outcome: 'succeeded' }));
    expect(await hub.dispatch('t-cut', { delayMs: 60_000, sizeBytes: 16 })).toMatchObject({ status: 'duplicate' });
    expect(runs.get(16)).toBe(1);
    expect(runs.get(17)).toBe(1);
  });

  it('logs no errors and never its credentials', () => {
    const logs = logLines.join('');
    expect(logLines.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(secrets.seed);
    expect(logs).not.toContain(secrets.jwt);
  });
});

describe('a decommissioned agent', () => {
  let nats: NatsServer;
  let hubNc: NatsConnection;
  let dir: string;
  const running: RunningAgent[] = [];

  beforeAll(async () => {
    nats = await startNats();
    hubNc = await connect({ servers: nats.url, authenticator: credsAuthenticator(enc.encode(await nats.authority.hubCreds())) });
    // Welcomes every host but h-gone-hub, which the hub knows as decommissioned.
    hubNc.subscribe(subjects.hub.wildcard, {
      callback: (_err, m) => {
        const target = parseHubSubject(m.subject);
        if (target?.kind !== 'hello') return;
        if (target.hostId === 'h-gone-hub') m.respond(encode(rejection, { kind: 'rejection', reason: 'host h-gone-hub was decommissioned', code: 'revoked' }));
        else m.respond(encode(welcome, { kind: 'welcome', hubVersion: 'fake-hub' }));
      },
    });
    await hubNc.flush();
    dir = await mkdtemp(join(tmpdir(), 'kf-agent-gone-'));
  });
  afterAll(async () => {
    for (const a of running) await a.stop();
    await hubNc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** An enrolled agent in its own state dir, and its log lines (parsed). */
  const enrolled = async (hostId: string) => {
    const user = createUser();
    const stateDir = join(dir, hostId);
    await identityStore.save(
      stateDir,
      { hostId, hubUrl: 'http://hub.invalid', natsServers: [nats.url], labels: {} },
      {
        jwt: await nats.authority.agentJwt(hostId, user.getPublicKey()),
        seed: dec.decode(user.getSeed()),
      },
    );
    const lines: Array<{ level: number; msg: string; reason?: string; since?: string }> = [];
    const run = async () => {
      const a = await startAgent({
        stateDir,
        features,
        heartbeatIntervalMs: 250,
        stopGraceMs: 100,
        timing: { retryInitialMs: 100, retryMaxMs: 400, requestTimeoutMs: 1_000 },
        log: createLogger('agent', {
          destination: new Writable({
            write: (c, _e, cb) => {
              lines.push(JSON.parse(String(c)));
              cb();
            },
          }),
        }),
      });
      running.push(a);
      return a;
    };
    const said = (re: RegExp) => lines.filter((l) => re.test(l.msg));
    return { stateDir, publicKey: user.getPublicKey(), lines, run, said };
  };

  it('says once that it was decommissioned when NATS revokes it, stops, and stays quiet after a restart', async () => {
    const gone = await enrolled('h-gone-nats');
    const first = await gone.run();
    await vi.waitFor(() => expect(gone.said(/hub welcomed the agent/)).toHaveLength(1));

    await nats.revoke([gone.publicKey]);
    await vi.waitFor(() => expect(gone.said(/^agent stopped$/)).toHaveLength(1), { timeout: 15_000 });
    expect(gone.said(/decommissioned/)).toEqual([expect.objectContaining({ level: 50, reason: expect.stringMatching(/User Authentication Revoked/) })]);
    // Stopped means its NATS connection is closed: nothing after that line tries again.
    const stoppedAt = gone.lines.findIndex((l) => l.msg === 'agent stopped');
    expect(gone.lines.slice(stoppedAt + 1)).toEqual([]);
    expect(JSON.parse(await readFile(join(gone.stateDir, 'decommissioned.json'), 'utf8'))).toMatchObject({ hostId: 'h-gone-nats' });

    await first.stop();
    gone.lines.length = 0;
    await gone.run();
    expect(gone.said(/decommissioned/)).toEqual([expect.objectContaining({ level: 50, since: expect.any(String) })]);
    expect(gone.said(/to NATS|hello/)).toEqual([]);
  });

  it('says once that it was decommissioned when the hub refuses its hello as revoked, and stops', async () => {
    const gone = await enrolled('h-gone-hub');
    await gone.run();
    await vi.waitFor(() => expect(gone.said(/^agent stopped$/)).toHaveLength(1), { timeout: 15_000 });
    expect(gone.said(/decommissioned/)).toEqual([expect.objectContaining({ reason: 'hub: host h-gone-hub was decommissioned' })]);
    expect(gone.said(/hub rejected hello|will retry/)).toEqual([]);
  });
});
