import { hostname as osHostname } from 'node:os';
import { createUser } from '@nats-io/nkeys';
import { z } from 'zod';
import { lockDir } from '@keyfleet/dir-lock';
import { ids } from '@keyfleet/proto/v1';
import { AGENT_VERSION } from './agent-version.js';
import { identityStore, type Identity } from './identity-store.js';

export interface EnrollOptions {
  hubUrl: string;
  /** One-time enrollment token; sent to the hub only, never logged or stored. */
  token: string;
  labels: Record<string, string>;
  stateDir: string;
  /** Replace an existing identity (the old one stays valid at the hub until revoked there). */
  force?: boolean;
  hostname?: string;
}

const enrollResponse = z.object({
  hostId: ids.host,
  natsServers: z.array(z.string().min(1)).min(1),
  jwt: z.string().min(1),
});

const dec = new TextDecoder();

/**
 * Enrolls this host: makes a NATS user key pair here (the private seed never leaves
 * the host), sends only the public key with the token, and stores what the hub returns.
 */
export async function enroll(opts: EnrollOptions): Promise<Identity> {
  // A running agent would keep using the identity this replaces.
  const lock = await lockDir(opts.stateDir, 'keyfleet-agent');
  try {
    return await enrollLocked(opts);
  } finally {
    await lock.release();
  }
}

async function enrollLocked(opts: EnrollOptions): Promise<Identity> {
  // Checked before contacting the hub so a mistaken re-run does not burn a one-time token.
  if (!opts.force && (await identityStore.exists(opts.stateDir))) {
    const { identity } = await identityStore.load(opts.stateDir).catch(() => ({ identity: undefined }));
    throw new Error(`already enrolled${identity ? ` as ${identity.hostId}` : ''} (state dir ${opts.stateDir}); pass --force to enroll again`);
  }
  const user = createUser();
  const hubUrl = opts.hubUrl.replace(/\/+$/, '');
  const url = `${hubUrl}/v1/enroll`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: opts.token,
        publicKey: user.getPublicKey(),
        hostname: opts.hostname ?? osHostname(),
        labels: opts.labels,
        agentVersion: AGENT_VERSION,
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new Error(`cannot reach the hub at ${url}: ${cause}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const message = typeof (body as { error?: unknown })?.error === 'string' ? (body as { error: string }).error : text.slice(0, 500) || res.statusText;
    throw new Error(`hub refused enrollment (HTTP ${res.status}): ${message}`);
  }
  if (res.status !== 201) throw new Error(`hub answered enrollment with HTTP ${res.status}, expected 201`);
  const parsed = enrollResponse.safeParse(body);
  if (!parsed.success) throw new Error(`hub sent an invalid enrollment response: ${z.prettifyError(parsed.error)}`);
  const identity: Identity = { hostId: parsed.data.hostId, hubUrl, natsServers: parsed.data.natsServers, labels: opts.labels };
  await identityStore.save(opts.stateDir, identity, { jwt: parsed.data.jwt, seed: dec.decode(user.getSeed()) });
  return identity;
}
