import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { encode, messages, subjects, type TaskState } from '@keyfleet/proto/v1';
import type { FakeAgent } from '../testing/fake-agent.js';
import { testBackends } from '../testing/test-database.js';
import { startTestFleet, type TestFleet, type TestHub } from '../testing/test-fleet.js';
import { waitOptions } from '../testing/wait-options.js';

describe.each(testBackends)('dispatcher on %s', (backend) => {
  let fleet: TestFleet;
  let hub: TestHub | undefined;

  beforeAll(async () => {
    fleet = await startTestFleet(backend);
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  const stateOf = async (taskId: string) => (await fleet.task(taskId)).state;
  const waitForState = (taskId: string, state: TaskState) => vi.waitFor(async () => expect(await stateOf(taskId)).toBe(state), waitOptions);
  /** A host with an agent that said hello, and a task for it that was sent: proof that a dispatch pass ran after this call. */
  const dispatchPassed = async () => {
    const probe = await fleet.agent(await fleet.addHost());
    await probe.hello();
    const taskId = await fleet.addTask(probe.hostId);
    hub?.dispatcher.kick();
    await vi.waitFor(() => expect(probe.tasks.map((t) => t.taskId)).toContain(taskId), waitOptions);
  };

  describe('hello and dispatch', () => {
    it('marks the host online, keeps hub labels, and dispatches its queued tasks at once', async () => {
      hub = await fleet.startHub({ dispatchIntervalMs: 60_000 }); // only the hello can trigger a dispatch
      const hostId = await fleet.addHost();
      const t1 = await fleet.addTask(hostId);
      const t2 = await fleet.addTask(hostId);
      const agent = await fleet.agent(hostId);

      const reply = await agent.hello({ maxConcurrency: 2, heartbeatIntervalMs: 5000, taskTypes: ['noop'] });
      expect(reply.kind).toBe('welcome');

      const host = await fleet.db.selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirstOrThrow();
      expect(host).toMatchObject({
        status: 'online',
        agent_version: '0.0.1-test',
        proto_version: 'v1',
        task_types: ['noop'],
        max_concurrency: 2,
        heartbeat_interval_ms: 5000,
      });
      expect(host.labels).toEqual({ env: 'test' });
      expect(host.last_hello_at).toBeInstanceOf(Date);

      await waitForState(t1, 'dispatched');
      await waitForState(t2, 'dispatched');
      expect(agent.tasks.map((t) => t.taskId).sort()).toEqual([t1, t2].sort());
      expect(agent.tasks[0]).toMatchObject({ type: 'noop', params: { sleepMs: 0 }, timeoutMs: 60_000 });
      const row = await fleet.task(t1);
      expect(row.dispatch_attempts).toBe(1);
      expect(row.dispatched_at).toBeInstanceOf(Date);
      expect(await fleet.events(t1)).toEqual([{ kind: 'state', data: { state: 'dispatched' } }]);
      // Observed just after the state is written, by the same batch: the count follows the rows.
      const observed = async () => (await hub!.latency.get()).values.find((v) => v.metricName === 'kf_dispatch_latency_seconds_count')?.value;
      await vi.waitFor(async () => expect(await observed()).toBe(2), waitOptions);
    });

    it('sends no more than max_concurrency * 4 tasks per host before some finish', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await fleet.addTask(hostId));
      const agent = await fleet.agent(hostId);
      // Replies held back until the test lets them go: sends still in flight count against the host too.
      let release = () => {};
      const replies = new Promise<void>((r) => {
        release = r;
      });
      agent.onTask = async () => {
        await replies;
        return { status: 'accepted' };
      };
      await agent.hello({ maxConcurrency: 1 });
      await vi.waitFor(() => expect(agent.tasks).toHaveLength(4), waitOptions);
      await dispatchPassed(); // with the four sends in flight
      expect(agent.tasks).toHaveLength(4);
      release();
      for (const t of agent.tasks) await waitForState(t.taskId, 'dispatched');
      await dispatchPassed(); // with the four dispatched
      expect(agent.tasks).toHaveLength(4);

      expect((await agent.result(agent.tasks[0]!.taskId, 'succeeded')).kind).toBe('ack');
      await vi.waitFor(() => expect(agent.tasks).toHaveLength(5), waitOptions);
    });

    it('leaves a task queued while its agent is unreachable and sends it when it comes back', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const first = await fleet.agent(hostId);
      await first.hello();
      await first.close(); // still "online" in the DB until heartbeats are missed
      const taskId = await fleet.addTask(hostId);
      hub.dispatcher.kick();
      await vi.waitFor(async () => expect((await fleet.task(taskId)).dispatch_attempts).toBeGreaterThanOrEqual(2), waitOptions);
      expect(await stateOf(taskId)).toBe('queued');

      const second = await fleet.agent(hostId);
      await second.hello();
      await waitForState(taskId, 'dispatched');
      expect(second.tasks.map((t) => t.taskId)).toEqual([taskId]);
    });

    it('fails a task the agent rejects, as unknown_type when the host never listed the type', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const taskId = await fleet.addTask(hostId, { type: 'keycloak.verify' });
      const agent = await fleet.agent(hostId);
      agent.onTask = async () => ({ status: 'rejected', reason: 'no handler for keycloak.verify' });
      await agent.hello({ taskTypes: ['noop'] });
      await waitForState(taskId, 'failed');
      const row = await fleet.task(taskId);
      expect(row.error).toEqual({ code: 'unknown_type', message: 'no handler for keycloak.verify' });
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(await fleet.events(taskId)).toEqual([
        { kind: 'state', data: { state: 'failed', error: { code: 'unknown_type', message: 'no handler for keycloak.verify' } } },
      ]);
    });
  });

  describe('progress and results', () => {
    it('moves a task to running on started, stores progress, then stores the result before acking', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const taskId = await fleet.addTask(hostId);
      const agent = await fleet.agent(hostId);
      await agent.hello();
      await waitForState(taskId, 'dispatched');

      await agent.progress(taskId, 'started');
      await waitForState(taskId, 'running');
      expect((await fleet.task(taskId)).started_at).toBeInstanceOf(Date);
      await agent.progress(taskId, 'progress', { message: 'dumping', bytes: 1_048_576 });
      await agent.progress(taskId, 'progress', { percent: 40, message: 'halfway-ish' });
      await vi.waitFor(async () => expect((await fleet.task(taskId)).progress).toMatchObject({ percent: 40 }), waitOptions);

      const startedAt = '2029-12-31T23:59:58.000Z';
      const finishedAt = '2030-01-01T00:00:00.000Z';
      const reply = await agent.result(taskId, 'succeeded', { output: { answer: 42 }, startedAt, finishedAt });
      expect(reply).toMatchObject({ kind: 'ack', taskId });
      // The ack came back, so the row must already be there.
      const row = await fleet.task(taskId);
      expect(row).toMatchObject({ state: 'succeeded', output: { answer: 42 }, error: null, progress: { percent: 40, message: 'halfway-ish' } });
      // Both ends from the agent's clock: the hub noted 'started' on its own clock when the progress
      // arrived, which can even be later than the agent's finish (negative durations for quick tasks).
      expect(row.started_at?.toISOString()).toBe(startedAt);
      expect(row.finished_at?.toISOString()).toBe(finishedAt);
      expect(await fleet.events(taskId)).toEqual([
        { kind: 'state', data: { state: 'dispatched' } },
        { kind: 'state', data: { state: 'running' } },
        // A streaming task's bytes reach the event stream (the CLI's bar) as the agent sent them.
        { kind: 'progress', data: { message: 'dumping', bytes: 1_048_576 } },
        { kind: 'progress', data: { percent: 40, message: 'halfway-ish' } },
        { kind: 'state', data: { state: 'succeeded' } },
      ]);
    });

    it('acks and ignores a result for a task already terminal, and ignores its progress', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const taskId = await fleet.addTask(hostId);
      const agent = await fleet.agent(hostId);
      await agent.hello();
      await waitForState(taskId, 'dispatched');

      const error = { code: 'handler_error' as const, message: 'boom' };
      expect((await agent.result(taskId, 'failed', { error })).kind).toBe('ack');
      expect((await agent.result(taskId, 'succeeded', { output: { late: true } })).kind).toBe('ack');
      const row = await fleet.task(taskId);
      expect(row).toMatchObject({ state: 'failed', error, output: null });

      await agent.progress(taskId, 'progress', { percent: 99 });
      await vi.waitFor(() => expect(fleet.logs).toContainEqual(expect.objectContaining({ msg: 'progress for a terminal task ignored', taskId })), waitOptions);
      expect((await fleet.task(taskId)).progress).toBeNull();
      expect((await fleet.events(taskId)).map((e) => e.data.state)).toEqual(['dispatched', 'failed']);
    });

    it('stores duplicate results once, whether they come together or one after another', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const taskId = await fleet.addTask(hostId);
      const agent = await fleet.agent(hostId);
      await agent.hello();
      await waitForState(taskId, 'dispatched');

      const replies = await Promise.all([1, 2, 3].map((n) => agent.result(taskId, 'succeeded', { output: { n } })));
      expect(replies.map((r) => r.kind)).toEqual(['ack', 'ack', 'ack']);
      expect((await agent.result(taskId, 'succeeded', { output: { n: 4 } })).kind).toBe('ack');
      const events = await fleet.events(taskId);
      expect(events.filter((e) => e.data.state === 'succeeded')).toHaveLength(1);
      expect((await fleet.task(taskId)).output).toEqual({ n: 1 });
    });

    it('stores a burst of results from many agents and acks every one', async () => {
      hub = await fleet.startHub({ dispatchIntervalMs: 60_000 });
      const agents: FakeAgent[] = [];
      const taskIds: string[] = [];
      for (let i = 0; i < 20; i++) {
        const hostId = await fleet.addHost();
        for (let j = 0; j < 10; j++) taskIds.push(await fleet.addTask(hostId));
        agents.push(await fleet.agent(hostId));
      }
      await Promise.all(agents.map((a) => a.hello({ maxConcurrency: 10 })));
      await vi.waitFor(() => expect(agents.map((a) => a.tasks.length)).toEqual(agents.map(() => 10)), waitOptions);

      const replies = await Promise.all(agents.flatMap((a) => a.tasks.map((t) => a.result(t.taskId, 'succeeded', { output: { id: t.taskId } }))));
      expect(replies.every((r) => r.kind === 'ack')).toBe(true);
      const rows = await fleet.db.selectFrom('tasks').select(['id', 'state', 'output']).where('id', 'in', taskIds).execute();
      expect(rows.filter((r) => r.state === 'succeeded')).toHaveLength(taskIds.length);
      expect(rows.every((r) => (r.output as { id: string }).id === r.id)).toBe(true);
    });
  });

  describe('refused messages', () => {
    const rejectionOf = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as { kind: string; reason: string };
    const warned = (part: string) => fleet.logs.find((l) => l.msg === 'agent message rejected' && String(l.reason).includes(part));

    it('rejects malformed, mis-addressed and unknown messages with a logged reason and keeps working', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const other = await fleet.addHost();
      const otherTask = await fleet.addTask(other);
      const agent = await fleet.agent(hostId);

      const notJson = rejectionOf((await agent.request(subjects.hub.hello(hostId), '{not json')).data);
      expect(notJson.kind).toBe('rejection');
      expect(notJson.reason).toMatch(/^malformed hello: not UTF-8 JSON/);

      const badSchema = rejectionOf((await agent.request(subjects.hub.result(hostId), JSON.stringify({ kind: 'result', hostId }))).data);
      expect(badSchema.kind).toBe('rejection');
      expect(badSchema.reason).toMatch(/^malformed result: .*taskId/);

      const wrongKindOnHello = rejectionOf(
        (await agent.request(subjects.hub.hello(hostId), encode(messages.rejection, { kind: 'rejection', reason: 'x' }))).data,
      );
      expect(wrongKindOnHello.reason).toMatch(/^malformed hello: /);

      const mismatch = await agent.hello({ hostId: other });
      expect(mismatch).toMatchObject({ kind: 'rejection', reason: `hostId ${other} in the body differs from the sender ${hostId}` });

      const unknownKind = rejectionOf((await agent.request(`kf.v1.hub.${hostId}.bogus`, '{}')).data);
      expect(unknownKind.reason).toBe(`unknown subject kf.v1.hub.${hostId}.bogus`);

      const foreignTask = await agent.result(otherTask, 'succeeded');
      expect(foreignTask).toMatchObject({ kind: 'rejection', reason: `task ${otherTask} is not a task of host ${hostId}` });
      expect(await stateOf(otherTask)).toBe('queued');

      const ghost = await fleet.agent('ghost-host');
      expect(await ghost.hello()).toMatchObject({ kind: 'rejection', reason: 'unknown host ghost-host' });

      // A publish cannot be answered, but the refusal is still logged.
      agent.nc.publish(subjects.hub.heartbeat(hostId), new TextEncoder().encode('[]'));
      await agent.nc.flush();
      await vi.waitFor(
        () => expect(fleet.logs).toContainEqual(expect.objectContaining({ msg: 'agent message rejected', subject: subjects.hub.heartbeat(hostId) })),
        waitOptions,
      );

      for (const part of [
        'not UTF-8 JSON',
        'malformed result',
        'differs from the sender',
        'unknown subject',
        'is not a task of host',
        'unknown host ghost-host',
      ]) {
        expect(warned(part), part).toBeDefined();
      }
      expect((await agent.hello()).kind).toBe('welcome');
    });
  });

  describe('deadlines', () => {
    it('expires a task whose host never picked it up', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost(); // never says hello
      const taskId = await fleet.addTask(hostId, { expiresInMs: 300 });
      await waitForState(taskId, 'expired');
      const error = { code: 'expired', message: 'host did not pick up the task before it expired' };
      expect((await fleet.task(taskId)).error).toEqual(error);
      expect(await fleet.events(taskId)).toEqual([{ kind: 'state', data: { state: 'expired', error } }]);
    });

    it('fails a running task whose result does not arrive within timeout + grace', async () => {
      hub = await fleet.startHub({ resultGraceMs: 200 });
      const hostId = await fleet.addHost();
      const taskId = await fleet.addTask(hostId, { timeoutMs: 300 });
      const agent = await fleet.agent(hostId);
      await agent.hello();
      await waitForState(taskId, 'dispatched');
      await agent.progress(taskId, 'started');
      const startedAt = Date.now();
      await waitForState(taskId, 'failed');
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(400);
      const error = { code: 'timeout', message: 'no result from the agent within the timeout (agent stopped or lost?)' };
      expect((await fleet.task(taskId)).error).toEqual(error);
      expect((await fleet.events(taskId)).at(-1)).toEqual({ kind: 'state', data: { state: 'failed', error } });
      // The late result is acked but changes nothing.
      expect((await agent.result(taskId, 'succeeded')).kind).toBe('ack');
      expect(await stateOf(taskId)).toBe('failed');
    });

    it('marks a host offline after missed heartbeats, and online again on the next heartbeat', async () => {
      hub = await fleet.startHub({ offlineAfterMissedHeartbeats: 2 });
      const hostId = await fleet.addHost();
      const agent = await fleet.agent(hostId);
      // 1 s beats sent every 100 ms: a loaded CI machine may delay one by a second without the
      // host going offline (2 missed = 2 s of silence).
      await agent.hello({ heartbeatIntervalMs: 1000 });
      const status = async () => (await fleet.db.selectFrom('hosts').select('status').where('id', '=', hostId).executeTakeFirstOrThrow()).status;

      for (let i = 0; i < 5; i++) {
        await agent.heartbeat();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await status()).toBe('online');
      const host = await fleet.db.selectFrom('hosts').select('last_heartbeat').where('id', '=', hostId).executeTakeFirstOrThrow();
      expect(host.last_heartbeat).toMatchObject({ cpuPercent: 3.5, runningTasks: 0, load: [0.1, 0.2, 0.3] });

      const silentSince = Date.now();
      await vi.waitFor(async () => expect(await status()).toBe('offline'), waitOptions);
      expect(Date.now() - silentSince).toBeGreaterThanOrEqual(1500);

      // Work queued for an offline host waits; a heartbeat brings the host back and the work goes out.
      const taskId = await fleet.addTask(hostId);
      await dispatchPassed();
      expect(agent.tasks).toHaveLength(0);
      await agent.heartbeat();
      await vi.waitFor(async () => expect(await status()).toBe('online'), waitOptions);
      await waitForState(taskId, 'dispatched');
    });
  });

  describe('cancel', () => {
    it('cancels queued tasks here and running ones through their agent', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const agent = await fleet.agent(hostId);
      await agent.hello();
      const running = await fleet.addTask(hostId);
      await waitForState(running, 'dispatched');
      await agent.progress(running, 'started');
      await waitForState(running, 'running');
      const queuedForOffline = await fleet.addTask(await fleet.addHost());

      // The agent stops the task and reports it, as a real agent does.
      agent.onCancel = (c) => {
        void agent.result(c.taskId, 'cancelled', { error: { code: 'cancelled', message: c.reason } });
        return true;
      };
      await hub.dispatcher.cancel([running, queuedForOffline], 'operator changed their mind');

      expect(agent.cancels).toEqual([expect.objectContaining({ taskId: running, reason: 'operator changed their mind' })]);
      await waitForState(running, 'cancelled');
      expect((await fleet.task(running)).cancel_requested_at).toBeInstanceOf(Date);
      const queued = await fleet.task(queuedForOffline);
      expect(queued).toMatchObject({ state: 'cancelled', error: { code: 'cancelled', message: 'operator changed their mind' } });
      expect(queued.cancel_requested_at).toBeInstanceOf(Date);
    });

    it('cancels a dispatched task the agent is not running', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const agent = await fleet.agent(hostId);
      await agent.hello();
      const taskId = await fleet.addTask(hostId);
      await waitForState(taskId, 'dispatched');
      agent.onCancel = () => false;
      await hub.dispatcher.cancel([taskId], 'not needed');
      expect(await stateOf(taskId)).toBe('cancelled');
      expect((await fleet.events(taskId)).at(-1)).toEqual({ kind: 'state', data: { state: 'cancelled', error: { code: 'cancelled', message: 'not needed' } } });
    });

    it('re-sends a cancel the agent missed when it says hello again', async () => {
      hub = await fleet.startHub();
      const hostId = await fleet.addHost();
      const first = await fleet.agent(hostId);
      await first.hello();
      const taskId = await fleet.addTask(hostId);
      await waitForState(taskId, 'dispatched');
      await first.progress(taskId, 'started');
      await waitForState(taskId, 'running');
      await first.close();

      await hub.dispatcher.cancel([taskId], 'stop it');
      expect(await stateOf(taskId)).toBe('running');

      const second = await fleet.agent(hostId);
      await second.hello();
      await vi.waitFor(() => expect(second.cancels).toHaveLength(1), waitOptions);
      expect(second.cancels[0]!.taskId).toBe(taskId);
    });
  });
});
