import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v1 from '@keyfleet/proto/v1';
import { expectStatus, startFleet, waitForTask, type AgentProcess, type Fleet } from '@keyfleet/test-harness';

const enc = new TextEncoder();

describe('bad input is refused with a reason and nothing breaks', () => {
  let fleet: Fleet;
  let agent: AgentProcess;
  let hubNc: NatsConnection;

  beforeAll(async () => {
    fleet = await startFleet();
    agent = await fleet.addAgent();
    hubNc = await connect({ servers: fleet.nats.url, authenticator: credsAuthenticator(enc.encode(await fleet.nats.authority.hubCreds())) });
  });
  afterAll(async () => {
    await hubNc?.close();
    await fleet?.stop();
  });

  const stillWorks = async () => {
    const { tasks } = await expectStatus(fleet.api.api.v1.tasks.$post({ json: { type: 'noop', target: { hostId: agent.hostId } } }), 201);
    expect((await waitForTask(fleet.api, tasks[0]!.id, ['succeeded', 'failed'])).state).toBe('succeeded');
  };

  it('the hub rejects malformed and unknown messages on its subjects, logs why, and keeps working', async () => {
    const cases: Array<[string, Uint8Array]> = [
      [v1.subjects.hub.result(agent.hostId), enc.encode('{not json')],
      [v1.subjects.hub.result(agent.hostId), enc.encode(JSON.stringify({ proto: 'v1', kind: 'result', msgId: 'm1', sentAt: new Date().toISOString() }))],
      [`kf.v1.hub.${agent.hostId}.reboot`, enc.encode('{}')],
      // A body that claims to be another host than its subject.
      [
        v1.subjects.hub.hello(agent.hostId),
        v1.encode(v1.hello, {
          kind: 'hello',
          hostId: 'h_someone_else',
          hostname: 'x',
          agentVersion: '0',
          taskTypes: [],
          labels: {},
          heartbeatIntervalMs: 1000,
          maxConcurrency: 1,
        }),
      ],
    ];
    for (const [subject, data] of cases) {
      const from = fleet.hub.proc.output.length;
      const reply = await hubNc.request(subject, data, { timeout: 5000 }).catch((err: Error) => err);
      if (reply instanceof Error) {
        // Subjects outside the protocol get no reply, only the log line.
        expect(subject).toMatch(/reboot$/);
      } else {
        const rejection = v1.decode(v1.rejection, reply.data);
        expect(rejection.reason.length).toBeGreaterThan(5);
      }
      await fleet.hub.proc.waitFor(/reject|refus|invalid|cannot decode|unknown/i, 5000, from);
    }
    await stillWorks();
  });

  it('the agent rejects malformed task messages with a reason and keeps working', async () => {
    const from = agent.proc.output.length;
    const reply = await hubNc.request(v1.subjects.agent.task(agent.hostId), enc.encode('{"kind":"task"}'), { timeout: 5000 });
    const text = new TextDecoder().decode(reply.data);
    expect(text).toMatch(/reject/);
    await agent.proc.waitFor(/refused a task message/, 5000, from);

    const unknown = await hubNc.request(
      v1.subjects.agent.task(agent.hostId),
      v1.encode(v1.task, {
        kind: 'task',
        taskId: 't_unknown_type_1',
        type: 'rm.rf',
        params: {},
        timeoutMs: 1000,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
      { timeout: 5000 },
    );
    const r = v1.decode(v1.taskReply, unknown.data);
    expect(r.status).toBe('rejected');
    expect(r.reason).toMatch(/rm\.rf/);
    await stillWorks();
  });

  it('bad API input gets a 4xx with a clear message, roles are enforced, every mutation is audited', async () => {
    const { api } = fleet;
    const badJson = await api.raw('POST', '/v1/tasks', { body: '{"type":' });
    expect(badJson.status).toBe(400);
    expect(badJson.json).toMatchObject({ error: expect.stringMatching(/json/i) });

    const unknownType = await api.raw('POST', '/v1/tasks', { body: { type: 'does.not.exist', target: { all: true } } });
    expect(unknownType.status).toBe(400);
    expect(unknownType.json).toMatchObject({ error: expect.stringMatching(/does\.not\.exist/) });

    const badParams = await api.api.v1.tasks.$post({ json: { type: 'noop', target: { all: true }, params: { delayMs: -5 } } });
    expect(JSON.stringify(await expectStatus(badParams, 400))).toMatch(/delayMs/);

    const viewer = await expectStatus(api.api.v1['api-tokens'].$post({ json: { name: 'ro', role: 'viewer' } }), 201);
    const denied = await expectStatus(api.as(viewer.token).api.v1.tasks.$post({ json: { type: 'noop', target: { all: true } } }), 403);
    expect(denied.error).toMatch(/operator|role/i);
    expect((await api.as(viewer.token).api.v1.hosts.$get({ query: {} })).status).toBe(200);
    expect((await api.as('kf_wrong').api.v1.hosts.$get({ query: {} })).status).toBe(401);

    const rows = (await expectStatus(api.api.v1.audit.$get({ query: { limit: '200' } }), 200)).items;
    expect(rows.some((r) => r.action === 'tasks.create' && r.outcome === 'denied' && r.actor.includes('ro'))).toBe(true);
    expect(rows.some((r) => r.action === 'api-tokens.create' && r.outcome === 'ok')).toBe(true);
    expect(rows.some((r) => r.action === 'hosts.enroll' && r.outcome === 'ok')).toBe(true);
    expect(rows.some((r) => r.action === 'tasks.create' && r.outcome === 'error')).toBe(true);
    // The audit log never holds a secret.
    expect(JSON.stringify(rows)).not.toContain(viewer.token);
    expect(JSON.stringify(rows)).not.toContain(fleet.hub.adminToken);
  });
});
