import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { expectStatus } from '../../testing/expect-status.js';
import type { FakeAgent } from '../../testing/fake-agent.js';
import { fleetApi } from '../../testing/fleet-api.js';
import type { HubTestClient, TaskRequest } from '../../testing/hub-test-client.js';
import { startTestFleet, type TestFleet } from '../../testing/test-fleet.js';
import { waitOptions } from '../../testing/wait-options.js';
import type { CertificatesRoutes } from './certificates-routes.js';

type Config = z.input<(typeof v1.taskDefinitions)['keycloak.install']['input']>;

const config: Config = {
  version: '26.4.7',
  runtime: 'docker',
  image: 'keycloak:test',
  database: { kind: 'dev-file' },
  hostname: 'https://id.example.test',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
};
const output = {
  changed: true,
  instance: { runtime: 'docker', version: '26.4.7', ready: true, baseUrl: 'http://127.0.0.1:8080', managementUrl: 'http://127.0.0.1:9000' },
  steps: ['start'],
  verify: { ok: true, checkedAt: new Date().toISOString(), checks: [] },
};

describe('keycloak install with a tls.certificate block: the hub asks for the certificate once Keycloak is installed', () => {
  let fleet: TestFleet;
  let api: HubTestClient;

  beforeAll(async () => {
    fleet = await startTestFleet('pglite');
    const hub = await fleet.startHub();
    api = await fleetApi(fleet, hub.dispatcher);
    await fleet.secrets.put('kc-admin', 'kc-admin-password-1', 'test');
    await fleet.secrets.put('tsig-kf', Buffer.alloc(32, 9).toString('base64'), 'test');
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  const certs = () => api.routes<CertificatesRoutes>('/v1').certificates;
  const listFor = async (hostId: string) => (await expectStatus(certs().$get({ query: { host: hostId } }), 200)).items;

  async function onlineAgent(): Promise<FakeAgent> {
    const agent = await fleet.agent(await fleet.addHost());
    expect((await agent.hello({ taskTypes: Object.keys(v1.taskDefinitions) })).kind).toBe('welcome');
    return agent;
  }

  /** Runs a task on the fake agent to the given end; returns what the agent received. */
  async function run(agent: FakeAgent, json: TaskRequest, outcome: 'succeeded' | 'failed', out?: unknown) {
    const { tasks } = await expectStatus(api.api.v1.tasks.$post({ json }), 201);
    const taskId = tasks[0]!.id;
    const task = await vi.waitFor(() => {
      const t = agent.tasks.find((x) => x.taskId === taskId);
      expect(t).toBeDefined();
      return t!;
    }, waitOptions);
    const done = outcome === 'succeeded' ? { output: out } : { error: { code: 'handler_error' as const, message: 'docker: image not found' } };
    expect((await agent.result(taskId, outcome, done)).kind).toBe('ack');
    return { taskId, task };
  }

  it('makes one certificate row for the host, due now, with the install’s HTTPS port; the same install again changes nothing', async () => {
    const agent = await onlineAgent();
    const tls = { httpsPort: 8443, certificate: { domains: ['id.example.test'], ca: 'https://acme.example.test/dir', http01Port: 8080 } };
    const params = { ...config, tls };
    const { taskId } = await run(agent, { type: 'keycloak.install', target: { hostId: agent.hostId }, params }, 'succeeded', output);
    const [row, ...more] = await listFor(agent.hostId);
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      domains: ['id.example.test'],
      issuer: { kind: 'acme', directoryUrl: 'https://acme.example.test/dir' },
      challenge: 'http-01',
      dns: null,
      keyType: 'ecdsa-p256',
      httpsPort: 8443,
      state: 'pending',
      requestedByConfig: true,
      createdBy: `keycloak.install (task ${taskId})`,
    });
    expect(Date.parse(row!.nextAttemptAt!)).toBeLessThanOrEqual(Date.now());

    await run(agent, { type: 'keycloak.install', target: { hostId: agent.hostId }, params }, 'succeeded', output);
    expect(await listFor(agent.hostId)).toEqual([row]);
  });

  it('an update asking for other names re-issues the same row at once; DNS-01’s TSIG key is named, never sent to the host', async () => {
    const agent = await onlineAgent();
    const first = { ...config, tls: { httpsPort: 443, certificate: { domains: ['id.example.test'], issuer: 'internal' as const } } };
    await run(agent, { type: 'keycloak.install', target: { hostId: agent.hostId }, params: first }, 'succeeded', output);
    const [before] = await listFor(agent.hostId);
    expect(before).toMatchObject({ issuer: { kind: 'internal' }, challenge: 'none', httpsPort: 443 });

    const dns = { provider: 'rfc2136' as const, server: '127.0.0.1:5353', keyName: 'kf-key', tsigSecret: 'tsig-kf' };
    const second = { ...config, tls: { httpsPort: 443, certificate: { domains: ['*.example.test', 'example.test'], dns } } };
    const { task } = await run(agent, { type: 'keycloak.update', target: { hostId: agent.hostId }, params: second }, 'succeeded', {
      outcome: 'updated',
      instance: output.instance,
      timeline: [],
    });
    expect(JSON.stringify(task)).not.toContain(Buffer.alloc(32, 9).toString('base64'));
    const [after, ...more] = await listFor(agent.hostId);
    expect(more).toEqual([]);
    expect(after).toMatchObject({
      id: before!.id,
      domains: ['*.example.test', 'example.test'],
      issuer: { kind: 'acme' },
      challenge: 'dns-01',
      dns: { provider: 'rfc2136', server: '127.0.0.1:5353', keyName: 'kf-key', algorithm: 'hmac-sha256', secret: { $secret: 'tsig-kf' } },
      attempts: 0,
    });
  });

  it('a failed install asks for nothing', async () => {
    const agent = await onlineAgent();
    const params = { ...config, tls: { httpsPort: 8443, certificate: { domains: ['id.example.test'] } } };
    await run(agent, { type: 'keycloak.install', target: { hostId: agent.hostId }, params }, 'failed');
    expect(await listFor(agent.hostId)).toEqual([]);
  });

  it('refuses a request that cannot work with a 400 from the task’s own declaration, the same words as POST /v1/certificates', async () => {
    const hostId = await fleet.addHost();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ domains: ['*.example.test'] }, /\*\.example\.test: a wildcard name can only be proved with DNS-01/],
      [{ domains: ['*.example.test'], challenge: 'http-01' }, /wildcard name can only be proved with DNS-01/],
      [
        { domains: ['id.example.test'], issuer: 'internal', ca: 'https://acme.example.test/dir' },
        /the internal CA signs without an ACME CA or a challenge: drop ca/,
      ],
      [{ domains: ['id.example.test'], challenge: 'dns-01' }, /challenge dns-01 needs dns/],
      [{ domains: ['id.example.test'], dns: { provider: 'rfc2136', server: 'ns', keyName: 'k', secret: { $secret: 'tsig-kf' } } }, /tsigSecret|secret/],
      [{ domains: ['a..example.test'] }, /a DNS name like id\.example\.com, or a wildcard/],
    ];
    for (const [certificate, message] of cases) {
      const params = { ...config, tls: { httpsPort: 8443, certificate } };
      const r = await api.api.v1.tasks.$post({ json: { type: 'keycloak.install', target: { hostId }, params } as TaskRequest });
      const text = await r.text();
      expect(r.status, JSON.stringify(certificate)).toBe(400);
      expect(text, JSON.stringify(certificate)).toMatch(message);
    }
    const viaApi = await certs().$post({ json: { target: hostId, domains: ['*.example.test'] } });
    expect(viaApi.status).toBe(400);
    expect(await viaApi.text()).toMatch(/\*\.example\.test: a wildcard name can only be proved with DNS-01/);
  });
});
