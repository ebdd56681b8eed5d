import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { expectStatus } from '../../testing/expect-status.js';
import type { FakeAgent } from '../../testing/fake-agent.js';
import { fleetApi } from '../../testing/fleet-api.js';
import type { HubTestClient, TaskRequest } from '../../testing/hub-test-client.js';
import { testBackends } from '../../testing/test-database.js';
import { startTestFleet, type TestFleet, type TestHub } from '../../testing/test-fleet.js';
import { waitOptions } from '../../testing/wait-options.js';
import type { KeycloakRoutes } from './keycloak-routes.js';

const instance = { runtime: 'process', version: '26.4.7', ready: true, baseUrl: 'http://127.0.0.1:8080', managementUrl: 'http://127.0.0.1:9000' };
const report = (ok: boolean, checkedAt = new Date().toISOString()) => ({
  ok,
  checkedAt,
  checks: [
    { name: 'health', ok: true, detail: 'UP', ms: 12 },
    { name: 'login', ok, detail: ok ? 'client_credentials token issued' : 'invalid_client', ms: 40 },
  ],
});
const config: z.input<(typeof v1.taskDefinitions)['keycloak.install']['input']> = {
  version: '26.4.7',
  runtime: 'process',
  database: { kind: 'dev-file' },
  hostname: 'http://127.0.0.1:8080',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
};

describe.each(testBackends)("the keycloak feature's read models (%s)", (backend) => {
  let fleet: TestFleet;
  let hub: TestHub;
  let api: HubTestClient;

  beforeAll(async () => {
    fleet = await startTestFleet(backend);
    hub = await fleet.startHub();
    api = await fleetApi(fleet, hub.dispatcher);
    await fleet.secrets.put('kc-admin', 'kc-admin-password-4410', 'test');
    await fleet.secrets.put('web-secret', 'web-client-secret-8832', 'test');
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  async function onlineAgent(): Promise<FakeAgent> {
    const agent = await fleet.agent(await fleet.addHost());
    expect((await agent.hello({ taskTypes: Object.keys(v1.taskDefinitions) })).kind).toBe('welcome');
    return agent;
  }

  /** Waits until the agent has the task, and returns what it got. */
  const delivered = (agent: FakeAgent, taskId: string) =>
    vi.waitFor(() => {
      const task = agent.tasks.find((t) => t.taskId === taskId);
      expect(task, `task ${taskId} sent to ${agent.hostId}`).toBeDefined();
      return task!;
    }, waitOptions);

  /** Queues a task through the API and waits until the agent has it. */
  async function run(agent: FakeAgent, json: TaskRequest): Promise<string> {
    const { tasks } = await expectStatus(api.api.v1.tasks.$post({ json }), 201);
    await delivered(agent, tasks[0]!.id);
    return tasks[0]!.id;
  }

  const keycloak = () => api.routes<KeycloakRoutes>('/v1');
  const host = (agent: FakeAgent) => expectStatus(keycloak().hosts[':id'].keycloak.$get({ param: { id: agent.hostId } }), 200);
  const history = async (agent: FakeAgent) =>
    (await expectStatus(keycloak().hosts[':id'].realms[':realm'].history.$get({ param: { id: agent.hostId, realm: 'demo' } }), 200)).items;

  describe('host Keycloak record', () => {
    it('shows what install reported: version, runtime, readiness, realms and the verification', async () => {
      const agent = await onlineAgent();
      const taskId = await run(agent, { type: 'keycloak.install', target: { hostId: agent.hostId }, params: config });
      const finishedAt = new Date().toISOString();
      const verify = report(true);
      const output = { changed: true, instance: { ...instance, realms: ['master'], uptimeSec: 3 }, steps: ['download', 'build', 'start'], verify };
      expect((await agent.result(taskId, 'succeeded', { output, finishedAt })).kind).toBe('ack');

      const h = await host(agent);
      expect(h.keycloak).toEqual({
        installed: true,
        version: '26.4.7',
        runtime: 'process',
        ready: true,
        baseUrl: 'http://127.0.0.1:8080',
        realms: ['master'],
        uptimeSec: 3,
        updatedAt: finishedAt,
        taskId,
      });
      expect(h.lastVerification).toEqual({ ...verify, taskId });
      const listed = (await expectStatus(keycloak().keycloak.hosts.$get({ query: {} }), 200)).items.find((x) => x.hostId === agent.hostId);
      expect(listed).toMatchObject({ keycloak: h.keycloak, lastVerification: h.lastVerification });
    });

    it('shows the Keycloak a restore started (and, on a host with only the agent, installed) and its verification', async () => {
      const agent = await onlineAgent();
      await fleet.secrets.put('dl-token', 'download-token-5521', 'test');
      const params = {
        backupId: 'bk_restored0001',
        source: { url: '/v1/backup-restores/bk_restored0001', token: { $secret: 'dl-token' } },
        keycloakVersion: '26.4.7',
        dumpSha256: 'a'.repeat(64),
        install: { ...config, database: { kind: 'external', url: 'jdbc:postgresql://db/kc', username: 'kc', password: { $secret: 'kc-admin' } } },
      } as const;
      const taskId = await run(agent, { type: 'backup.restore', target: { hostId: agent.hostId }, params });
      const finishedAt = new Date().toISOString();
      const verify = report(true);
      const output = {
        backupId: params.backupId,
        downtimeMs: 1,
        restoreMs: 1,
        files: 0,
        verify,
        installed: true,
        instance: { ...instance, realms: ['master', 'shop'] },
      };
      expect((await agent.result(taskId, 'succeeded', { output, finishedAt })).kind).toBe('ack');
      const h = await host(agent);
      expect(h.keycloak).toMatchObject({ installed: true, version: '26.4.7', realms: ['master', 'shop'], updatedAt: finishedAt, taskId });
      expect(h.lastVerification).toEqual({ ...verify, taskId });
    });

    it('keeps the realms across a stop, records not-installed, and never lets an older report overwrite a newer one', async () => {
      const agent = await onlineAgent();
      const status = await run(agent, { type: 'keycloak.status', target: { hostId: agent.hostId } });
      await agent.result(status, 'succeeded', { output: { installed: true, instance: { ...instance, realms: ['master', 'demo'] } } });
      const stop = await run(agent, { type: 'keycloak.stop', target: { hostId: agent.hostId } });
      const stoppedAt = new Date().toISOString();
      await agent.result(stop, 'succeeded', { output: { changed: true, instance: { ...instance, ready: false } }, finishedAt: stoppedAt });
      expect((await host(agent)).keycloak).toMatchObject({ ready: false, realms: ['master', 'demo'], taskId: stop, updatedAt: stoppedAt });

      // A status that finished before the stop, arriving only now (agent re-sent it after a restart).
      const late = await run(agent, { type: 'keycloak.status', target: { hostId: agent.hostId } });
      await agent.result(late, 'succeeded', { output: { installed: true, instance }, finishedAt: new Date(Date.parse(stoppedAt) - 60_000).toISOString() });
      expect((await fleet.task(late)).state).toBe('succeeded');
      expect((await host(agent)).keycloak).toMatchObject({ ready: false, taskId: stop });

      const gone = await run(agent, { type: 'keycloak.status', target: { hostId: agent.hostId } });
      await agent.result(gone, 'succeeded', { output: { installed: false } });
      expect((await host(agent)).keycloak).toEqual({ installed: false, updatedAt: expect.any(String), taskId: gone });
    });

    it('records a failed verify with the agent’s error, and its checks when the failed result carries them', async () => {
      const agent = await onlineAgent();
      const first = await run(agent, { type: 'keycloak.verify', target: { hostId: agent.hostId } });
      const finishedAt = new Date().toISOString();
      await agent.result(first, 'failed', { error: { code: 'handler_error', message: 'health: connection refused on 127.0.0.1:9000' }, finishedAt });
      expect((await host(agent)).lastVerification).toEqual({
        ok: false,
        checkedAt: finishedAt,
        checks: [],
        error: 'health: connection refused on 127.0.0.1:9000',
        taskId: first,
      });

      const second = await run(agent, { type: 'keycloak.verify', target: { hostId: agent.hostId } });
      const failed = report(false);
      await agent.result(second, 'failed', { error: { code: 'handler_error', message: 'login: invalid_client' }, output: failed });
      expect((await host(agent)).lastVerification).toEqual({
        ok: false,
        checkedAt: failed.checkedAt,
        checks: failed.checks,
        error: 'login: invalid_client',
        taskId: second,
      });

      const third = await run(agent, { type: 'keycloak.verify', target: { hostId: agent.hostId } });
      const passed = report(true);
      await agent.result(third, 'succeeded', { output: passed });
      expect((await host(agent)).lastVerification).toEqual({ ...passed, taskId: third });
    });

    it('stores a result whose output does not match the declaration, without touching the host record', async () => {
      const agent = await onlineAgent();
      const taskId = await run(agent, { type: 'keycloak.status', target: { hostId: agent.hostId } });
      expect((await agent.result(taskId, 'succeeded', { output: { installed: 'maybe' } })).kind).toBe('ack');
      expect((await fleet.task(taskId)).state).toBe('succeeded');
      expect((await host(agent)).keycloak).toBeNull();
      expect(fleet.logs.some((l) => l.msg === 'task output does not match its declaration; read models not updated from it' && l.taskId === taskId)).toBe(true);
    });
  });

  describe('realm spec history', () => {
    it('stores each successful apply as the next version with who and what changed; rollback re-applies one', async () => {
      const agent = await onlineAgent();
      const spec1 = { realm: 'demo', clients: [{ clientId: 'web', redirectUris: ['https://a.example/*'], secret: { $secret: 'web-secret' } }] };
      const spec2 = { ...spec1, displayName: 'Demo' };
      const changes1 = [{ resource: 'client', id: 'web', action: 'create' }];
      const changes2 = [{ resource: 'realm', id: 'demo', action: 'update', fields: [{ path: 'displayName', from: null, to: 'Demo' }] }];

      const apply1 = await run(agent, { type: 'keycloak.realm.apply', target: { hostId: agent.hostId }, params: { spec: spec1 } });
      await agent.result(apply1, 'succeeded', { output: { realm: 'demo', inSync: false, changes: changes1 } });
      const failed = await run(agent, {
        type: 'keycloak.realm.apply',
        target: { hostId: agent.hostId },
        params: { spec: { realm: 'demo', displayName: 'broken' } },
      });
      await agent.result(failed, 'failed', { error: { code: 'handler_error', message: 'admin API said 500' } });
      const apply2 = await run(agent, { type: 'keycloak.realm.apply', target: { hostId: agent.hostId }, params: { spec: spec2 } });
      await agent.result(apply2, 'succeeded', { output: { realm: 'demo', inSync: false, changes: changes2 } });

      const versions = await history(agent);
      expect(versions.map((v) => [v.version, v.taskId])).toEqual([
        [2, apply2],
        [1, apply1],
      ]);
      expect(versions[1]).toMatchObject({
        spec: { realm: 'demo', clients: [{ clientId: 'web', secret: { $secret: 'web-secret' } }] },
        changes: changes1,
        appliedBy: expect.stringMatching(/^initial-admin/),
      });
      expect(versions[0]!.changes).toEqual(changes2);
      expect(JSON.stringify(versions)).not.toContain('web-client-secret');

      const rollback = await expectStatus(
        keycloak().hosts[':id'].realms[':realm'].rollback.$post({ param: { id: agent.hostId, realm: 'demo' }, json: { version: 1 } }),
        201,
      );
      const rollbackId = rollback.tasks[0]!.id;
      const sent = await delivered(agent, rollbackId);
      expect(sent.type).toBe('keycloak.realm.apply');
      expect((sent.params as { spec: { displayName?: string; clients: Array<{ secret: unknown }> } }).spec.displayName).toBeUndefined();
      // The agent gets the secret value; the stored spec never had it.
      expect((sent.params as { spec: { clients: Array<{ secret: unknown }> } }).spec.clients[0]!.secret).toEqual({
        $secret: 'web-secret',
        value: 'web-client-secret-8832',
      });
      await agent.result(rollbackId, 'succeeded', {
        output: {
          realm: 'demo',
          inSync: false,
          changes: [{ resource: 'realm', id: 'demo', action: 'update', fields: [{ path: 'displayName', from: 'Demo', to: null }] }],
        },
      });
      const after = await history(agent);
      expect(after[0]).toMatchObject({ version: 3, taskId: rollbackId, spec: versions[1]!.spec });
    });
  });
});
