import { randomBytes } from 'node:crypto';
import { v1 } from '@keyfleet/proto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../secrets/secret-box.js';
import { SecretStore } from '../secrets/secret-store.js';
import type { FakeAgent } from '../testing/fake-agent.js';
import { fleetApi, type FleetApi } from '../testing/fleet-api.js';
import { startTestFleet, waitFor, type TestFleet, type TestHub } from '../testing/test-fleet.js';

const ADMIN_PW = 'admin-pw-never-stored-3391';
const DB_PW = 'db-pw-never-stored-7720';

let fleet: TestFleet;
let hub: TestHub;
let api: FleetApi;

beforeAll(async () => {
  fleet = await startTestFleet();
  hub = await fleet.startHub();
  api = await fleetApi(fleet, hub.dispatcher);
  await fleet.secrets.put('kc-admin', ADMIN_PW, 'test');
  await fleet.secrets.put('kc-db', DB_PW, 'test');
});
afterAll(async () => {
  await fleet?.stop();
});

const config = {
  version: '26.4.7',
  runtime: 'docker',
  database: { kind: 'external', url: 'jdbc:postgresql://db.internal:5432/keycloak', username: 'keycloak', password: { $secret: 'kc-db' } },
  hostname: 'https://id.example.com',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
};

async function agentFor(hostId: string): Promise<FakeAgent> {
  const agent = await fleet.agent(hostId);
  expect((await agent.hello({ taskTypes: Object.keys(v1.taskDefinitions) })).kind).toBe('welcome');
  return agent;
}

async function queue(hostId: string, type: string, params: unknown): Promise<string> {
  const res = await api.call('POST', '/v1/tasks', { type, target: { hostId }, params });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.tasks[0].id;
}

/** Every row of the tables a task touches, as text. */
async function stored(): Promise<string> {
  const tables = ['tasks', 'task_batches', 'task_events', 'audit_log', 'hosts'];
  const dumps = await Promise.all(tables.map((t) => sql`select * from ${sql.table(t)}`.execute(fleet.db)));
  return JSON.stringify(dumps.map((d) => d.rows));
}

describe('secret values on the wire', () => {
  it('fills values into the message for the agent only; the stored task keeps bare references', async () => {
    const agent = await agentFor(await fleet.addHost());
    const taskId = await queue(agent.hostId, 'keycloak.install', config);
    const sent = await waitFor(() => agent.tasks.find((t) => t.taskId === taskId), 'task delivered');
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
    const taskId = await queue(agent.hostId, 'keycloak.install', config);
    await waitFor(() => agent.tasks.some((t) => t.taskId === taskId), 'task delivered');
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
    const running = await queue(agent.hostId, 'keycloak.install', config);
    await waitFor(() => agent.tasks.some((t) => t.taskId === running), 'task delivered');
    await agent.progress(running, 'progress', { percent: 10, message: `connecting with ${DB_PW}` });
    await waitFor(async () => (await fleet.task(running)).progress?.message, 'progress stored');
    expect((await fleet.task(running)).progress).toEqual({ percent: 10, message: 'connecting with ***' });

    agent.onTask = async () => ({ status: 'rejected', reason: `refusing input with password ${ADMIN_PW}` });
    const rejected = await queue(agent.hostId, 'keycloak.install', config);
    await waitFor(async () => (await fleet.task(rejected)).state === 'failed', 'rejected task failed');
    expect((await fleet.task(rejected)).error).toEqual({ code: 'invalid_input', message: 'refusing input with password ***' });
    const text = await stored();
    expect(text).not.toContain(ADMIN_PW);
    expect(text).not.toContain(DB_PW);
  });

  it('fails a task whose secret was deleted before it could be sent, saying which and why', async () => {
    await fleet.secrets.put('short-lived', 'short-lived-value-1', 'test');
    const hostId = await fleet.addHost();
    const taskId = await queue(hostId, 'keycloak.verify', {
      login: { grant: 'password', realm: 'demo', clientId: 'probe', username: 'u', password: { $secret: 'short-lived' } },
    });
    await fleet.secrets.delete('short-lived');
    const agent = await agentFor(hostId);
    await waitFor(async () => (await fleet.task(taskId)).state === 'failed', 'task failed');
    expect((await fleet.task(taskId)).error).toEqual({
      code: 'invalid_input',
      message: 'secret "short-lived" does not exist (deleted after the task was created?); store it with PUT /v1/secrets/short-lived',
    });
    expect(agent.tasks).toEqual([]);
  });

  it('fails a task whose secret another hub key sealed, pointing at KEYFLEET_SECRET_KEY', async () => {
    await new SecretStore(fleet.db, new SecretBox(randomBytes(32))).put('foreign', 'foreign-value-1', 'other hub');
    const agent = await agentFor(await fleet.addHost());
    const taskId = await queue(agent.hostId, 'keycloak.verify', {
      login: { grant: 'client_credentials', realm: 'demo', clientId: 'probe', clientSecret: { $secret: 'foreign' } },
    });
    await waitFor(async () => (await fleet.task(taskId)).state === 'failed', 'task failed');
    const { error } = await fleet.task(taskId);
    expect(error?.code).toBe('invalid_input');
    expect(error?.message).toMatch(
      /^secret "foreign" was sealed under hub secret key [0-9a-f]{16}, but this hub has key [0-9a-f]{16}: every hub sharing a database needs the same KEYFLEET_SECRET_KEY$/,
    );
    expect(agent.tasks).toEqual([]);
  });
});
