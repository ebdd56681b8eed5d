import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const { subjects } = v1;
const enc = new TextEncoder();

/** An agent connection exactly as the agent makes it: its own key, its JWT, its inbox. */
async function connectAgent(nats: NatsServer, hostId: string): Promise<{ nc: NatsConnection; errors: Error[] }> {
  const user = createUser();
  const jwt = await nats.authority.agentJwt(hostId, user.getPublicKey());
  const nc = await connect({ servers: nats.url, authenticator: jwtAuthenticator(jwt, user.getSeed()), inboxPrefix: subjects.inboxPrefix(hostId) });
  const errors: Error[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(s.error);
  })();
  return { nc, errors };
}

/** The server's refusal, which it sends in order with everything else on that connection. */
const refused = (errors: Error[], what: RegExp) =>
  vi.waitFor(() => expect(errors.map((e) => e.message).join('\n')).toMatch(what), { timeout: 10_000, interval: 20 });

describe('per-agent NATS credentials', () => {
  let nats: NatsServer;
  let hub: NatsConnection;
  let a: { nc: NatsConnection; errors: Error[] };

  beforeAll(async () => {
    nats = await startNats();
    hub = await connect({ servers: nats.url, authenticator: credsAuthenticator(enc.encode(await nats.authority.hubCreds())) });
    a = await connectAgent(nats, 'h_agent_a');
  });
  afterAll(async () => {
    await a?.nc.close();
    await hub?.close();
    await nats?.stop();
  });

  it('lets an agent use its own subjects and answer the hub', async () => {
    const got = hub.subscribe(subjects.hub.heartbeat('h_agent_a'), { max: 1 });
    await hub.flush();
    a.nc.publish(subjects.hub.heartbeat('h_agent_a'), 'hb');
    for await (const m of got) expect(m.string()).toBe('hb');

    a.nc.subscribe(subjects.agent.task('h_agent_a'), { callback: (_e, m) => void m.respond('accepted') });
    await a.nc.flush();
    const reply = await hub.request(subjects.agent.task('h_agent_a'), 'task', { timeout: 2000 });
    expect(reply.string()).toBe('accepted');

    hub.subscribe(subjects.hub.hello('h_agent_a'), { callback: (_e, m) => void m.respond('welcome') });
    await hub.flush();
    const welcome = await a.nc.request(subjects.hub.hello('h_agent_a'), 'hello', { timeout: 2000 });
    expect(welcome.string()).toBe('welcome');
    expect(a.errors).toEqual([]);
  });

  it.each([
    ["another agent's result subject", subjects.hub.result('h_agent_b')],
    ["another agent's command subject", subjects.agent.task('h_agent_b')],
    ['its own command subject (only the hub sends commands)', subjects.agent.cancel('h_agent_a')],
  ])('refuses publishing to %s', async (_what, subject) => {
    const seen: string[] = [];
    hub.subscribe(subject, { callback: (_e, m) => void seen.push(m.subject) });
    await hub.flush();
    a.errors.length = 0;
    a.nc.publish(subject, 'forged');
    // The refusal came back, so the server has dealt with the publish; anything it routed to the
    // hub would be on the hub's connection ahead of the answer to a ping sent after that.
    await refused(a.errors, /Permissions Violation for Publish/i);
    await hub.flush();
    expect(seen).toEqual([]);
  });

  it.each([
    ["another agent's commands", subjects.agent.task('h_agent_b')],
    ['all hub subjects', subjects.hub.wildcard],
    ["another agent's inbox", `${subjects.inboxPrefix('h_agent_b')}.>`],
    ['the default shared inbox', '_INBOX.>'],
  ])('refuses subscribing to %s', async (_what, subject) => {
    a.errors.length = 0;
    const received: string[] = [];
    const subErrors: Error[] = [];
    const sub = a.nc.subscribe(subject, { callback: (err, m) => void (err ? subErrors.push(err) : received.push(m.subject)) });
    await a.nc.flush();
    await vi.waitFor(() => expect([...a.errors, ...subErrors].map((e) => e.message).join('\n')).toMatch(/Permissions Violation for Subscription/i), {
      timeout: 10_000,
      interval: 20,
    });
    hub.publish(subject.replace('>', 'x').replace('*.*', 'h_agent_b.result'), 'secret');
    // Once the hub's ping is answered the server has routed its publish; the agent's ping sent
    // after that is answered only behind anything routed to the agent.
    await hub.flush();
    await a.nc.flush();
    expect(received).toEqual([]);
    sub.unsubscribe();
  });
});
