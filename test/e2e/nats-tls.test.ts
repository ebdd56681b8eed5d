import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrollmentToken, enrollAgent, expectStatus, startFleet, waitForTask, type AgentProcess, type Fleet } from '@keyfleet/test-harness';

describe('NATS over TLS (real nats-server requiring TLS, throwaway CA)', () => {
  let fleet: Fleet;
  let untrusting: AgentProcess | undefined;
  beforeAll(async () => {
    fleet = await startFleet({ natsTls: true });
  });
  afterAll(async () => {
    await untrusting?.remove();
    await fleet?.stop();
  });

  it('hub and agent given the CA connect over TLS, and a task runs end to end', async () => {
    const agent = await fleet.addAgent({ labels: { role: 'tls' } });
    const created = await expectStatus(fleet.api.api.v1.tasks.$post({ json: { type: 'system.info', target: { hostId: agent.hostId } } }), 201);
    const task = await waitForTask(fleet.api, created.tasks[0]!.id, ['succeeded', 'failed']);
    expect(task.state).toBe('succeeded');
    expect(v1.taskDefinitions['system.info'].output.parse(task.output).memory.totalBytes).toBeGreaterThan(0);
  });

  it('an agent without the CA is refused by certificate verification and keeps retrying', async () => {
    // Enrolment is HTTP to the hub; only the NATS connection needs the CA.
    untrusting = await enrollAgent({ hubUrl: fleet.hub.url, token: await createEnrollmentToken(fleet.api), heartbeatIntervalMs: 500 });
    await untrusting.start({ waitForWelcome: false });
    const [line] = await untrusting.proc.waitFor(/.*cannot connect to NATS; will retry.*/, 30_000);
    expect(line).toMatch(/certificate/i);
    const host = await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: untrusting.hostId } }), 200);
    expect(host.status).not.toBe('online');
  });

  it('the server refuses a plaintext client', async () => {
    const creds = new TextEncoder().encode(await fleet.nats.authority.hubCreds());
    const ca = await readFile(fleet.nats.caFile!, 'utf8');
    // Trusting the CA is enough to connect; asking for no TLS at all is not.
    const ok = await connect({ servers: fleet.nats.url, authenticator: credsAuthenticator(creds), tls: { ca }, reconnect: false });
    await ok.close();
    await expect(connect({ servers: fleet.nats.url, authenticator: credsAuthenticator(creds), tls: null, reconnect: false })).rejects.toThrow(/tls|secure/i);
  });
});
