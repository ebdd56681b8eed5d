import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as v1 from '@keyfleet/proto/v1';
import { expectStatus, startFleet, waitForTask, type AgentProcess, type Fleet } from '@keyfleet/test-harness';

/** What a noop reports, read with its declaration. */
const noopOutput = (task: { output: unknown }) => v1.taskDefinitions.noop.output.parse(task.output);

describe('delivery: nothing lost, nothing run twice (real processes, killed for real)', () => {
  let fleet: Fleet;
  let agent: AgentProcess;
  /** A second agent that stays up: a task it runs proves the hub dispatched after a given moment. */
  let witness: AgentProcess;
  let hubNc: NatsConnection;

  beforeAll(async () => {
    fleet = await startFleet();
    [agent, witness] = await Promise.all([fleet.addAgent({ labels: { role: 'delivery' } }), fleet.addAgent({ labels: { role: 'witness' } })]);
    hubNc = await connect({ servers: fleet.nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(await fleet.nats.authority.hubCreds())) });
  });
  afterAll(async () => {
    await hubNc?.close();
    await fleet?.stop();
  });

  const run = async (params: { delayMs?: number }, extra: { timeoutMs?: number; expiresInMs?: number } = {}, on = agent) => {
    const json = { type: 'noop', target: { hostId: on.hostId }, params, ...extra } as const;
    return (await expectStatus(fleet.api.api.v1.tasks.$post({ json }), 201)).tasks[0]!.id;
  };
  const stateOf = async (taskId: string) => (await expectStatus(fleet.api.api.v1.tasks[':id'].$get({ param: { id: taskId } }), 200)).state;
  const offline = () =>
    vi.waitFor(async () => expect((await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: agent.hostId } }), 200)).status).toBe('offline'), {
      timeout: 15_000,
      interval: 100,
    });
  /** A task on `on` that succeeded: the hub has dispatched (and that agent worked) since this call. */
  const dispatchedSince = async (on: AgentProcess) =>
    expect((await waitForTask(fleet.api, await run({}, {}, on), ['succeeded', 'failed'])).state).toBe('succeeded');

  it('a task for a stopped agent waits queued and runs when the agent is back; its id is never run twice', async () => {
    await agent.kill('SIGTERM');
    await offline();
    const taskId = await run({ delayMs: 10 });
    await dispatchedSince(witness);
    expect(await stateOf(taskId)).toBe('queued');

    await agent.start();
    const done = await waitForTask(fleet.api, taskId, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');

    // Redeliver the same task id straight to the agent, as a retrying hub would.
    const reply = await hubNc.request(
      v1.subjects.agent.task(agent.hostId),
      v1.encode(v1.task, {
        kind: 'task',
        taskId,
        type: 'noop',
        params: { delayMs: 10 },
        timeoutMs: 5000,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
      { timeout: 5000 },
    );
    expect(v1.decode(v1.taskReply, reply.data).status).toBe('duplicate');
    // A task sent after the redelivery has run: had the duplicate run too, it would have by now.
    await dispatchedSince(agent);
    const executions = agent.proc.output.filter((l) => l.includes(taskId) && l.includes('task finished'));
    expect(executions).toHaveLength(1);
  });

  it('a task whose deadline passes while the host is offline expires visibly and never runs', async () => {
    await agent.kill('SIGTERM');
    await offline();
    const taskId = await run({}, { expiresInMs: 1000 });
    const expired = await waitForTask(fleet.api, taskId, ['expired', 'succeeded', 'failed'], 15_000);
    expect(expired.state).toBe('expired');
    expect(expired.error?.code).toBe('expired');

    await agent.start();
    await dispatchedSince(agent);
    expect(await stateOf(taskId)).toBe('expired');
    expect(agent.proc.output.some((l) => l.includes(taskId))).toBe(false);
  });

  it('the hub killed mid-task and restarted loses no result', async () => {
    const taskId = await run({ delayMs: 3000 });
    await waitForTask(fleet.api, taskId, ['running']);
    await fleet.hub.restart('SIGKILL');
    const done = await waitForTask(fleet.api, taskId, ['succeeded', 'failed'], 60_000);
    expect(done.state).toBe('succeeded');
    expect(noopOutput(done).delayedMs).toBeGreaterThanOrEqual(3000);
  });

  it('NATS killed mid-task and restarted: the result is stored, and a task created meanwhile goes out', async () => {
    const taskId = await run({ delayMs: 1500 });
    await waitForTask(fleet.api, taskId, ['running']);
    await fleet.nats.restart();
    const createdDuring = await run({});
    const done = await waitForTask(fleet.api, taskId, ['succeeded', 'failed'], 60_000);
    expect(done.state).toBe('succeeded');
    expect(noopOutput(done).delayedMs).toBeGreaterThanOrEqual(1500);
    expect((await waitForTask(fleet.api, createdDuring, ['succeeded', 'failed'], 60_000)).state).toBe('succeeded');
  });

  it('Postgres down while a task finishes: the same hub rides it out and stores the result once Postgres is back', async () => {
    const taskId = await run({ delayMs: 1500 });
    await waitForTask(fleet.api, taskId, ['running']);
    const hubPid = fleet.hub.proc.pid;
    const logFrom = fleet.hub.proc.output.length;
    // The result arrives while the database is down; the agent keeps it until the hub acks it.
    await fleet.pg.restart(4000);
    const done = await waitForTask(fleet.api, taskId, ['succeeded', 'failed'], 60_000);
    expect(done.state).toBe('succeeded');
    expect(noopOutput(done).delayedMs).toBeGreaterThanOrEqual(1500);
    expect(fleet.hub.proc.running).toBe(true);
    expect(fleet.hub.proc.pid).toBe(hubPid);
    const during = fleet.hub.proc.output.slice(logFrom).join('\n');
    expect(during).toContain('lost an idle database connection');
    await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: agent.hostId } }), 200);
  });

  it('an agent killed mid-task ends the task failed with a reason once its timeout passes', async () => {
    const taskId = await run({ delayMs: 60_000 }, { timeoutMs: 2000 });
    await waitForTask(fleet.api, taskId, ['running']);
    await agent.kill('SIGKILL');
    const failed = await waitForTask(fleet.api, taskId, ['failed', 'succeeded'], 45_000);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'timeout', message: expect.stringMatching(/no result/i) });
  });
});
