import { randomBytes } from 'node:crypto';
import * as v1 from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { SecretBox } from '../secrets/secret-box.js';
import { SecretStore } from '../secrets/secret-store.js';
import { expectStatus } from '../testing/expect-status.js';
import type { FakeAgent } from '../testing/fake-agent.js';
import { fleetApi } from '../testing/fleet-api.js';
import type { HubTestClient, TaskRequest } from '../testing/hub-test-client.js';
import { testBackends } from '../testing/test-database.js';
import { startTestFleet, type TestFleet, type TestHub } from '../testing/test-fleet.js';
import { waitOptions } from '../testing/wait-options.js';

const ADMIN_PW = 'admin-pw-never-stored-3391';
const DB_PW = 'db-pw-never-stored-7720';

const config: z.input<(typeof v1.taskDefinitions)['keycloak.install']['input']> = {
  version: '26.4.7',
  runtime: 'docker',
  database: { kind: 'external', url: 'jdbc:postgresql://db.internal:5432/keycloak', username: 'keycloak', password: { $secret: 'kc-db' } },
  hostname: 'https://id.example.com',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
};

describe.each(testBackends)('secret values on the wire (%s)', (backend) => {
  let fleet: TestFleet;
  let hub: TestHub;
  let api: HubTestClient;

  beforeAll(async () => {
    fleet = await startTestFleet(backend);
    hub = await fleet.startHub();
    api = await fleetApi(fleet, hub.dispatcher);
    await fleet.secrets.put('kc-admin', ADMIN_PW, 'test');
    await fleet.secrets.put('kc-db', DB_PW, 'test');
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  async function agentFor(hostId: string): Promise<FakeAgent> {
    const agent = await fleet.agent(hostId);
    expect((await agent.hello({ taskTypes: Object.keys(v1.taskDefinitions) })).kind).toBe('welcome');
    return agent;
  }

  async function queue(json: TaskRequest): Promise<string> {
    const { tasks } = await expectStatus(api.api.v1.tasks.$post({ json }), 201);
    return tasks[0]!.id;
  }
  const delivered = (agent: FakeAgent, taskId: string) =>
    vi.waitFor(() => {
      const task = agent.tasks.find((t) => t.taskId === taskId);
      expect(task, `task ${taskId} sent to ${agent.hostId}`).toBeDefined();
      return task!;
    }, waitOptions);
  const waitForState = (taskId: string, state: string) => vi.waitFor(async () => expect((await fleet.task(taskId)).state).toBe(state), waitOptions);

  /** Every row of the tables a task touches, as text. */
  async function stored(): Promise<string> {
    const tables = ['tasks', 'task_batches', 'task_events', 'audit_log', 'hosts'];
    const dumps = await Promise.all(tables.map((t) => sql`select * from ${sql.table(t)}`.execute(fleet.db)));
    return JSON.stringify(dumps.map((d) => d.rows));
  }

  describe('secret values on the wire', () => {
    it('fills values into the message for the agent only; the stored task keeps bare references', async () => {
      const agent = await agentFor(await fleet.addHost());
      const taskId = await queue({ type: 'keycloak.install', target: { hostId: agent.hostId }, params: config });
      const sent = await delivered(agent, taskId);
      const params = sent.params as typeof config & { database: { password: unknown }; bootstrapAdmin: { password: unknown } };
      expect(params.bootstrapAdmin.password).toEqual({ $secret: 'kc-admin', value: ADMIN_PW });
      expect(params.database.password).toEqual({ $secret: 'kc-db', value: DB_PW });

      const row = await fleet.task(taskId);
      expect(row.params).toMatchObject({ bootstrapAdmin: { password: { $secret: 'kc-admin' } }, database: { password: { $secret: 'kc-db' } } });
      const text = await stored();
      expect(text).not.toContain(ADMIN_PW);
      expect(text).not.toContain(DB_PW);
    });

    it('masks secret values an agent echoes into its result or error before storing them', async () => {
      const agent = await agentFor(await fleet.addHost());
      const taskId = await queue({ type: 'keycloak.install', target: { hostId: agent.hostId }, params: config });
      await delivered(agent, taskId);
      const reply = await agent.result(taskId, 'failed', {
        error: { code: 'handler_error', message: `kc.sh failed: KC_BOOTSTRAP_ADMIN_PASSWORD=${ADMIN_PW} KC_DB_PASSWORD=${DB_PW}` },
        output: { steps: [`export KC_DB_PASSWORD=${DB_PW}`], [ADMIN_PW]: 1 },
      });
      expect(reply.kind).toBe('ack');
      const row = await fleet.task(taskId);
      expect(row.state).toBe('failed');
      expect(row.error).toEqual({ code: 'handler_error', message: 'kc.sh failed: KC_BOOTSTRAP_ADMIN_PASSWORD=*** KC_DB_PASSWORD=***' });
      expect(row.output).toEqual({ steps: ['export KC_DB_PASSWORD=***'], '***': 1 });
      const text = await stored();
      expect(text).not.toContain(ADMIN_PW);
      expect(text).not.toContain(DB_PW);
    });

    it('masks secret values in progress messages and in an agent’s rejection reason', async () => {
      const agent = await agentFor(await fleet.addHost());
      const running = await queue({ type: 'keycloak.install', target: { hostId: agent.hostId }, params: config });
      await delivered(agent, running);
      await agent.progress(running, 'progress', { percent: 10, message: `connecting with ${DB_PW}` });
      await vi.waitFor(async () => expect((await fleet.task(running)).progress?.message).toBeDefined(), waitOptions);
      expect((await fleet.task(running)).progress).toEqual({ percent: 10, message: 'connecting with ***' });

      agent.onTask = async () => ({ status: 'rejected', reason: `refusing input with password ${ADMIN_PW}` });
      const rejected = await queue({ type: 'keycloak.install', target: { hostId: agent.hostId }, params: config });
      await waitForState(rejected, 'failed');
      expect((await fleet.task(rejected)).error).toEqual({ code: 'invalid_input', message: 'refusing input with password ***' });
      const text = await stored();
      expect(text).not.toContain(ADMIN_PW);
      expect(text).not.toContain(DB_PW);
    });

    it('fails a task whose secret was deleted before it could be sent, saying which and why', async () => {
      await fleet.secrets.put('short-lived', 'short-lived-value-1', 'test');
      const hostId = await fleet.addHost();
      const taskId = await queue({
        type: 'keycloak.verify',
        target: { hostId },
        params: { login: { grant: 'password', realm: 'demo', clientId: 'probe', username: 'u', password: { $secret: 'short-lived' } } },
      });
      await fleet.secrets.delete('short-lived');
      const agent = await agentFor(hostId);
      await waitForState(taskId, 'failed');
      expect((await fleet.task(taskId)).error).toEqual({
        code: 'invalid_input',
        message: 'secret "short-lived" does not exist (deleted after the task was created?); store it with PUT /v1/secrets/short-lived',
      });
      expect(agent.tasks).toEqual([]);
    });

    it('fails a task whose secret another hub key sealed, pointing at KEYFLEET_SECRET_KEY', async () => {
      await new SecretStore(fleet.db, new SecretBox(randomBytes(32))).put('foreign', 'foreign-value-1', 'other hub');
      const agent = await agentFor(await fleet.addHost());
      const taskId = await queue({
        type: 'keycloak.verify',
        target: { hostId: agent.hostId },
        params: { login: { grant: 'client_credentials', realm: 'demo', clientId: 'probe', clientSecret: { $secret: 'foreign' } } },
      });
      await waitForState(taskId, 'failed');
      const { error } = await fleet.task(taskId);
      expect(error?.code).toBe('invalid_input');
      expect(error?.message).toMatch(
        /^secret "foreign" was sealed under hub secret key [0-9a-f]{16}, but this hub has key [0-9a-f]{16}: every hub sharing a database needs the same KEYFLEET_SECRET_KEY$/,
      );
      expect(agent.tasks).toEqual([]);
    });
  });
});
