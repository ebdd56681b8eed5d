import { setTimeout as sleep } from 'node:timers/promises';
import { connect, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@keyfleet/log';
import { subjects } from '@keyfleet/proto/v1';
import { backoffDelay } from './backoff-delay.js';

export interface ConnectNatsOptions {
  servers: string[];
  hostId: string;
  jwt: string;
  seed: string;
  /** PEM of the CA that signed the NATS servers' certificates. */
  ca?: string;
  log: Logger;
  /** Gives up waiting for the first connection. */
  signal: AbortSignal;
}

const enc = new TextEncoder();

/**
 * nats.js asks for the reconnect delay on every pass of its dial loop, not once per
 * dial, and dials when `lastDial + delay <= now`; so the answer must stay stable
 * within an outage. It grows with the outage's age (about half of it, capped), with a
 * jitter factor drawn once per outage so a fleet that lost the same server spreads out.
 * The loop asks at least every `maxMs`, so a longer silence means a new outage.
 */
function outageDelay(minMs: number, maxMs: number): () => number {
  let outageStart = 0;
  let lastAsked = 0;
  let jitter = 1;
  return () => {
    const now = Date.now();
    if (now - lastAsked > 2 * maxMs) {
      outageStart = now;
      jitter = 0.5 + Math.random() / 2;
    }
    lastAsked = now;
    return Math.round(jitter * Math.min(maxMs, Math.max(minMs, (now - outageStart) / 2)));
  };
}

/**
 * Connects with the agent's own credentials and inbox, retrying the first connection
 * with backoff until it succeeds or `signal` aborts (then it throws). Afterwards the
 * client reconnects forever by itself, with backoff and jitter between attempts.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const options = {
    servers: opts.servers,
    name: `keyfleet-agent ${opts.hostId}`,
    authenticator: jwtAuthenticator(opts.jwt, enc.encode(opts.seed)),
    inboxPrefix: subjects.inboxPrefix(opts.hostId),
    maxReconnectAttempts: -1,
    reconnectDelayHandler: outageDelay(500, 30_000),
    // An auth failure during a server reload or a credential rotation at the hub is usually
    // transient; the backoff keeps a really revoked agent from hammering the server. A
    // revocation the agent witnesses ('User Authentication Revoked') stops it (agent.ts).
    ignoreAuthErrorAbort: true,
    // Finds a dead TCP path within about a minute rather than the default four.
    pingInterval: 30_000,
    ...(opts.ca ? { tls: { ca: opts.ca } } : {}),
  };
  for (let attempt = 0; ; attempt++) {
    opts.signal.throwIfAborted();
    try {
      return await connect(options);
    } catch (err) {
      const delay = backoffDelay(attempt, 1_000, 30_000);
      opts.log.warn({ servers: opts.servers, reason: (err as Error).message, retryInMs: delay }, 'cannot connect to NATS; will retry');
      await sleep(delay, undefined, { signal: opts.signal });
    }
  }
}
