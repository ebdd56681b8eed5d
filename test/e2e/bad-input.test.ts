import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v1 from '@keyfleet/proto/v1';
import { startFleet, type AgentProcess, type Fleet } from '@keyfleet/test-harness';

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
    const r = await fleet.api.call('POST', '/v1/tasks', { type: 'noop', target: { hostId: agent.hostId } });
    expect(r.status).toBe(201);
    expect((await fleet.api.waitForTask(r.body.tasks[0].id, ['succeeded', 'failed'])).state).toBe('succeeded');
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
    const badJson = await api.call('POST', '/v1/tasks', '{"type":');
    expect(badJson.status).toBe(400);
    expect(badJson.body.error).toMatch(/json/i);

    const unknownType = await api.call('POST', '/v1/tasks', { type: 'does.not.exist', target: { all: true } });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error).toMatch(/does\.not\.exist/);

    const badParams = await api.call('POST', '/v1/tasks', { type: 'noop', target: { all: true }, params: { delayMs: -5 } });
    expect(badParams.status).toBe(400);
    expect(JSON.stringify(badParams.body)).toMatch(/delayMs/);

    const viewer = await api.call('POST', '/v1/api-tokens', { name: 'ro', role: 'viewer' });
    expect(viewer.status).toBe(201);
    const denied = await api.call('POST', '/v1/tasks', { type: 'noop', target: { all: true } }, viewer.body.token);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatch(/operator|role/i);
    expect((await api.call('GET', '/v1/hosts', undefined, viewer.body.token)).status).toBe(200);
    expect((await api.call('GET', '/v1/hosts', undefined, 'kf_wrong')).status).toBe(401);

    const audit = await api.call('GET', '/v1/audit?limit=200');
    expect(audit.status).toBe(200);
    const rows = audit.body.items as Array<{ action: string; outcome: string; actor: string; detail: unknown }>;
    expect(rows.some((r) => r.action === 'tasks.create' && r.outcome === 'denied' && r.actor.includes('ro'))).toBe(true);
    expect(rows.some((r) => r.action === 'api-tokens.create' && r.outcome === 'ok')).toBe(true);
    expect(rows.some((r) => r.action === 'hosts.enroll' && r.outcome === 'ok')).toBe(true);
    expect(rows.some((r) => r.action === 'tasks.create' && r.outcome === 'error')).toBe(true);
    // The audit log never holds a secret.
    expect(JSON.stringify(rows)).not.toContain(viewer.body.token);
    expect(JSON.stringify(rows)).not.toContain(fleet.hub.adminToken);
  });
});
