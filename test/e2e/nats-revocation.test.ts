import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { AGENT_LIMITS } from '@keyfleet/nats-auth';
import * as v1 from '@keyfleet/proto/v1';
import { type AgentProcess, expectStatus, type Fleet, repoRoot, startFleet, waitForTask } from '@keyfleet/test-harness';
import { fromSeed } from '@nats-io/nkeys';
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const { subjects } = v1;
const enc = new TextEncoder();
/** The bound the brief sets: a removed agent's connection and reconnects are refused within this. */
const REFUSED_WITHIN_MS = 30_000;
const MiB = 1024 * 1024;
/** The hub's per-agent data rate in this file; the 1 MB noop result (normal work) must still fit its burst. */
const FLOOD_RATE = { data: 2 * MiB, dataBurstBytes: 4 * MiB };

/** A server event as nats-server publishes it in the system account. */
interface ClientEvent {
  timestamp: string;
  client: { name?: string; user?: string };
  reason?: string;
}

/** The agent's own credentials, from its state dir. */
async function credentialsOf(agent: AgentProcess): Promise<{ jwt: string; seed: string }> {
  return JSON.parse(await readFile(join(agent.stateDir, 'credentials.json'), 'utf8'));
}

/** Decoded claims of a JWT (no verification: nats-server did that). */
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));

/**
 * A NATS client speaking the protocol by hand, as a compromised host could: nats.js refuses
 * over-sized messages itself, before the server is asked.
 */
async function rawSession(url: string, creds: { jwt: string; seed: string }) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connectTcp({ host: hostname, port: Number(port) });
  let received = '';
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
  });
  // The server hangs up on a violation; that ends the session, not the test.
  socket.on('error', () => undefined);
  const next = async (re: RegExp, timeoutMs = 10_000): Promise<string> => {
    const m = await vi.waitFor(
      () => {
        const found = re.exec(received);
        if (!found && socket.destroyed) throw new Error(`nats-server hung up before ${re}; got ${JSON.stringify(received.slice(0, 300))}`);
        expect(found, `${re} from nats-server; got ${JSON.stringify(received.slice(0, 300))}`).not.toBeNull();
        return found!;
      },
      { timeout: timeoutMs, interval: 10 },
    );
    received = received.slice(m.index + m[0].length);
    return m[0];
  };
  const info = JSON.parse((await next(/^INFO (.*)\r\n/)).slice(5)) as { nonce: string };
  const sig = Buffer.from(fromSeed(enc.encode(creds.seed)).sign(enc.encode(info.nonce))).toString('base64url');
  socket.write(
    `CONNECT ${JSON.stringify({ jwt: creds.jwt, sig, verbose: false, pedantic: false, protocol: 1, name: 'raw-flood', lang: 'raw', version: '0' })}\r\nPING\r\n`,
  );
  await next(/PONG\r\n/);
  return {
    subscribe(subject: string, sid: number) {
      socket.write(`SUB ${subject} ${sid}\r\n`);
    },
    /** A PUB line without its body. */
    announce(subject: string, size: number) {
      socket.write(`PUB ${subject} ${size}\r\n`);
    },
    publish(subject: string, size: number) {
      socket.write(`PUB ${subject} ${size}\r\n`);
      socket.write(Buffer.alloc(size, 'x'));
      socket.write('\r\n');
    },
    /** Sends a PING and resolves with everything the server said up to its PONG or -ERR. */
    async roundTrip(): Promise<string> {
      socket.write('PING\r\n');
      return next(/(PONG|-ERR '[^']*')\r\n/);
    },
    next,
    closed: () => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))),
    close: () => socket.destroy(),
  };
}

describe('taking agent credentials back (real NATS, Postgres, hub and agents)', () => {
  let fleet: Fleet;
  let monitor: NatsConnection;
  const disconnects: ClientEvent[] = [];
  const authErrors: ClientEvent[] = [];
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    // A small data rate, so that a flood past it is quick to send and cannot swamp the hub's NATS link.
    fleet = await startFleet({ hubEnv: { KEYFLEET_AGENT_DATA_RATE: String(FLOOD_RATE.data), KEYFLEET_AGENT_DATA_BURST: String(FLOOD_RATE.dataBurstBytes) } });
    // Server events of the system account: which connection closed (and why), which login was refused.
    monitor = await connect({
      servers: fleet.nats.url,
      authenticator: credsAuthenticator(enc.encode(await fleet.nats.authority.systemUserCreds('e2e-monitor'))),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    monitor.subscribe(`$SYS.ACCOUNT.${fleet.nats.authority.accountPublicKey}.DISCONNECT`, { callback: (_e, m) => void disconnects.push(m.json()) });
    monitor.subscribe('$SYS.SERVER.*.CLIENT.AUTH.ERR', { callback: (_e, m) => void authErrors.push(m.json()) });
    await monitor.flush();
  });
  afterAll(async () => {
    console.info(`revocation figures (ms): ${JSON.stringify(figures)}`);
    await monitor?.close();
    await fleet?.stop();
  });

  /** Connects with an agent's credentials the way its agent does; resolves with the error the server answered, if any. */
  const tryConnect = async (agent: AgentProcess, name: string): Promise<string | undefined> => {
    const creds = await credentialsOf(agent);
    return connect({
      servers: fleet.nats.url,
      name,
      authenticator: jwtAuthenticator(creds.jwt, enc.encode(creds.seed)),
      inboxPrefix: subjects.inboxPrefix(agent.hostId),
      reconnect: false,
    }).then(
      async (nc) => {
        await nc.close();
        return undefined;
      },
      (err: Error) => err.message,
    );
  };

  const untilEvent = (what: string, events: ClientEvent[], match: (e: ClientEvent) => boolean, timeoutMs = REFUSED_WITHIN_MS) =>
    vi.waitFor(
      () => {
        const event = events.find(match);
        expect(event, what).toBeDefined();
        return event!;
      },
      { timeout: timeoutMs, interval: 20 },
    );

  const runNoop = async (hostId: string, params: { delayMs?: number; sizeBytes?: number }) => {
    const { tasks } = await expectStatus(fleet.api.api.v1.tasks.$post({ json: { type: 'noop', target: { hostId }, params } }), 201);
    return waitForTask(fleet.api, tasks[0]!.id, ['succeeded', 'failed', 'expired', 'cancelled'], 60_000);
  };

  it('decommissioning a host closes its live connection and refuses it within 30 s; the agent says so once and stops trying', async () => {
    const gone = await fleet.addAgent({ labels: { role: 'gone' } });
    const kept = await fleet.addAgent({ labels: { role: 'kept' } });
    const agentName = `keyfleet-agent ${gone.hostId}`;

    const t0 = Date.now();
    const res = await expectStatus(fleet.api.api.v1.hosts[':id'].$delete({ param: { id: gone.hostId } }), 200);
    figures.deleteAnsweredMs = Date.now() - t0;
    expect(res).toMatchObject({ id: gone.hostId, revocationEnforced: true });

    const closed = await untilEvent('the agent connection to be closed', disconnects, (e) => e.client.name === agentName);
    figures.connectionClosedMs = Date.parse(closed.timestamp) - t0;
    expect(closed.reason).toMatch(/revoked/i);
    expect(figures.connectionClosedMs).toBeLessThan(REFUSED_WITHIN_MS);

    expect(await tryConnect(gone, 'e2e-reconnect')).toMatch(/Authorization Violation/);
    figures.reconnectRefusedMs = Date.now() - t0;
    expect(figures.reconnectRefusedMs).toBeLessThan(REFUSED_WITHIN_MS);

    await gone.proc.waitFor(/this host was decommissioned/, REFUSED_WITHIN_MS);
    const [stoppedLine] = await gone.proc.waitFor(/.*"msg":"agent stopped".*/, REFUSED_WITHIN_MS);
    const stoppedLogAt = JSON.parse(stoppedLine!).time as number;
    const stoppedAt = Date.now();

    // Stopped trying: watch the server's refused logins for 5 s (a retrying agent dials
    // within a second); our own refused probes at the end prove the watch sees them.
    const probes: string[] = [];
    while (Date.now() - stoppedAt < 5_000) {
      const name = `e2e-probe-${probes.length}`;
      expect(await tryConnect(gone, name)).toMatch(/Authorization Violation/);
      await untilEvent(`the refused login of ${name}`, authErrors, (e) => e.client.name === name, 10_000);
      probes.push(name);
    }
    // nats.js dials again the moment the server hangs up, before the agent has read why: at
    // most that one attempt, none after the agent stopped.
    const agentAttempts = authErrors.filter((e) => e.client.name === agentName);
    figures.agentAttemptsAfterRevocation = agentAttempts.length;
    expect(agentAttempts.length).toBeLessThanOrEqual(1);
    expect(agentAttempts.filter((e) => Date.parse(e.timestamp) >= stoppedLogAt)).toEqual([]);
    const said = gone.proc.output.filter((l) => /decommissioned/.test(l));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/"level":50/);
    const after = gone.proc.output.slice(gone.proc.output.findIndex((l) => /decommissioned/.test(l)) + 1);
    expect(after.filter((l) => /hello|will retry|\bconnected to NATS|reconnected/.test(l))).toEqual([]);
    expect(gone.proc.running).toBe(true); // idle, not exited: a supervisor would restart it

    // The other host is untouched.
    expect((await runNoop(kept.hostId, { delayMs: 10 })).state).toBe('succeeded');
    expect(disconnects.filter((e) => e.client.name === `keyfleet-agent ${kept.hostId}`)).toEqual([]);
  });

  it('keyfleet hosts revoke keeps the host; the revocation survives NATS and hub restarts', async () => {
    const revoked = await fleet.addAgent({ labels: { role: 'revoked' } });
    const t0 = Date.now();
    const cli = spawnSync(join(repoRoot, 'keyfleet'), ['hosts', 'revoke', revoked.hostId], {
      env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status, `${cli.stdout}\n${cli.stderr}`).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`revoked the credential of ${revoked.hostId} .*; NATS refuses its agent since `));
    const closed = await untilEvent('the revoked agent connection to be closed', disconnects, (e) => e.client.name === `keyfleet-agent ${revoked.hostId}`);
    figures.cliRevokeConnectionClosedMs = Date.parse(closed.timestamp) - t0;
    expect((await fleet.api.api.v1.hosts[':id'].$get({ param: { id: revoked.hostId } })).status).toBe(200);
    await revoked.proc.waitFor(/this host was decommissioned/, REFUSED_WITHIN_MS);

    // No hub running: only what the NATS server stored can refuse the agent after its restart.
    await fleet.hub.proc.kill('SIGKILL');
    await fleet.nats.restart();
    expect(await tryConnect(revoked, 'e2e-after-nats-restart')).toMatch(/Authorization Violation/);
    await fleet.hub.restart();
    expect(await tryConnect(revoked, 'e2e-after-hub-restart')).toMatch(/Authorization Violation/);

    // Restarted, the agent remembers and stays quiet; the hub would refuse its hello anyway.
    await revoked.kill('SIGTERM');
    await revoked.start({ waitForWelcome: false });
    await revoked.proc.waitFor(/this host was decommissioned/, REFUSED_WITHIN_MS);
    expect(revoked.proc.output.filter((l) => /to NATS|hello/.test(l))).toEqual([]);
  });

  it('agent credentials carry limits: over the payload limit is refused, over the data rate is dropped, normal work passes', async () => {
    const agent = await fleet.addAgent({ labels: { role: 'limits' } });
    const creds = await credentialsOf(agent);
    expect(claimsOf(creds.jwt).nats).toMatchObject({ subs: AGENT_LIMITS.subs, payload: AGENT_LIMITS.payload, data: AGENT_LIMITS.data });

    // The largest message of the normal workload: a noop result at its maximum size.
    const big = await runNoop(agent.hostId, { sizeBytes: 1_000_000 });
    expect(big.state).toBe('succeeded');
    expect(v1.taskDefinitions.noop.output.parse(big.output).payload).toHaveLength(1_000_000);

    const raw = await rawSession(fleet.nats.url, creds);
    try {
      // Above the server's default 1 MiB, under the agent's 2 MiB: the credential's limit is the one enforced.
      raw.publish(subjects.hub.progress(agent.hostId), 1_500_000);
      expect(await raw.roundTrip()).toBe('PONG\r\n');

      // An agent holds 3 subscriptions; one past the limit is refused.
      for (let sid = 1; sid <= AGENT_LIMITS.subs; sid++) raw.subscribe(subjects.agent.task(agent.hostId), sid);
      expect(await raw.roundTrip()).toBe('PONG\r\n');
      raw.subscribe(subjects.agent.task(agent.hostId), AGENT_LIMITS.subs + 1);
      expect(await raw.roundTrip()).toMatch(/^-ERR 'maximum subscriptions exceeded'/i);
      await raw.next(/PONG\r\n/); // the answer to that PING, after the error

      // A flood past the data rate (twice the burst at once): the hub drops the excess before decoding it.
      for (let i = 0; i < (2 * FLOOD_RATE.dataBurstBytes) / MiB; i++) raw.publish(subjects.hub.heartbeat(agent.hostId), MiB);
      expect(await raw.roundTrip()).toBe('PONG\r\n');
      await fleet.hub.proc.waitFor(new RegExp(`"hostId":"${agent.hostId}".*"msg":"dropping messages from an agent over its data rate"`), 30_000);

      // The server judges the size from the PUB line and hangs up: the body is never read.
      raw.announce(subjects.hub.result(agent.hostId), AGENT_LIMITS.payload + 1);
      expect(await raw.next(/-ERR '[^']*'\r\n/)).toBe("-ERR 'Maximum Payload Violation'\r\n");
      await raw.closed();
    } finally {
      raw.close();
    }

    // The agent itself works on: its results are re-sent until the hub has them.
    expect((await runNoop(agent.hostId, { delayMs: 10 })).state).toBe('succeeded');
  });
});
