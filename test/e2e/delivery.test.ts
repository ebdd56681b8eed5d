import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v1 from '@keyfleet/proto/v1';
import { startFleet, type AgentProcess, type Fleet } from '@keyfleet/test-harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('delivery: nothing lost, nothing run twice (real processes, killed for real)', () => {
  let fleet: Fleet;
  let agent: AgentProcess;
  let hubNc: NatsConnection;

  beforeAll(async () => {
    fleet = await startFleet();
    agent = await fleet.addAgent({ labels: { role: 'delivery' } });
    hubNc = await connect({ servers: fleet.nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(await fleet.nats.authority.hubCreds())) });
  });
  afterAll(async () => {
    await hubNc?.close();
    await fleet?.stop();
  });

  const run = async (params: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const r = await fleet.api.call('POST', '/v1/tasks', { type: 'noop', target: { hostId: agent.hostId }, params, ...extra });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.tasks[0].id as string;
  };
  const offline = () =>
    fleet.api.until(
      'host offline',
      async () => ((await fleet.api.call('GET', `/v1/hosts/${agent.hostId}`)).body.status === 'offline' ? true : undefined),
      15_000,
    );

  it('a task for a stopped agent waits queued and runs when the agent is back; its id is never run twice', async () => {
    await agent.kill('SIGTERM');
    await offline();
    const taskId = await run({ delayMs: 10 });
    await sleep(1500);
    expect((await fleet.api.call('GET', `/v1/tasks/${taskId}`)).body.state).toBe('queued');

    await agent.start();
    const done = await fleet.api.waitForTask(taskId, ['succeeded', 'failed']);
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
    await sleep(500);
    const executions = agent.proc.output.filter((l) => l.includes(taskId) && l.includes('task finished'));
    expect(executions).toHaveLength(1);
  });

  it('a task whose deadline passes while the host is offline expires visibly and never runs', async () => {
    await agent.kill('SIGTERM');
    await offline();
    const taskId = await run({}, { expiresInMs: 1000 });
    const expired = await fleet.api.waitForTask(taskId, ['expired', 'succeeded', 'failed'], 15_000);
    expect(expired.state).toBe('expired');
    expect(expired.error.code).toBe('expired');

    await agent.start();
    await sleep(1500);
    expect((await fleet.api.call('GET', `/v1/tasks/${taskId}`)).body.state).toBe('expired');
    expect(agent.proc.output.some((l) => l.includes(taskId))).toBe(false);
  });

  it('the hub killed mid-task and restarted loses no result', async () => {
    const taskId = await run({ delayMs: 3000 });
    await fleet.api.waitForTask(taskId, ['running']);
    await fleet.hub.restart('SIGKILL');
    const done = await fleet.api.waitForTask(taskId, ['succeeded', 'failed'], 60_000);
    expect(done.state).toBe('succeeded');
    expect(done.output.delayedMs).toBeGreaterThanOrEqual(3000);
  });

  it('NATS killed mid-task and restarted: the result is stored, and a task created meanwhile goes out', async () => {
    const taskId = await run({ delayMs: 1500 });
    await fleet.api.waitForTask(taskId, ['running']);
    await fleet.nats.restart();
    const createdDuring = await run({});
    const done = await fleet.api.waitForTask(taskId, ['succeeded', 'failed'], 60_000);
    expect(done.state).toBe('succeeded');
    expect(done.output.delayedMs).toBeGreaterThanOrEqual(1500);
    expect((await fleet.api.waitForTask(createdDuring, ['succeeded', 'failed'], 60_000)).state).toBe('succeeded');
  });

  it('Postgres down while a task finishes: the same hub rides it out and stores the result once Postgres is back', async () => {
    const taskId = await run({ delayMs: 1500 });
    await fleet.api.waitForTask(taskId, ['running']);
    const hubPid = fleet.hub.proc.pid;
    const logFrom = fleet.hub.proc.output.length;
    // The result arrives while the database is down; the agent keeps it until the hub acks it.
    await fleet.pg.restart(4000);
    const done = await fleet.api.waitForTask(taskId, ['succeeded', 'failed'], 60_000);
    expect(done.state).toBe('succeeded');
    expect(done.output.delayedMs).toBeGreaterThanOrEqual(1500);
    expect(fleet.hub.proc.running).toBe(true);
    expect(fleet.hub.proc.pid).toBe(hubPid);
    const during = fleet.hub.proc.output.slice(logFrom).join('\n');
    expect(during).toContain('lost an idle database connection');
    const host = await fleet.api.call('GET', `/v1/hosts/${agent.hostId}`);
    expect(host.status).toBe(200);
  });

  it('an agent killed mid-task ends the task failed with a reason once its timeout passes', async () => {
    const taskId = await run({ delayMs: 60_000 }, { timeoutMs: 2000 });
    await fleet.api.waitForTask(taskId, ['running']);
    await agent.kill('SIGKILL');
    const failed = await fleet.api.waitForTask(taskId, ['failed', 'succeeded'], 45_000);
    expect(failed.state).toBe('failed');
    expect(failed.error.code).toBe('timeout');
    expect(failed.error.message).toMatch(/no result/i);
  });
});
