import { createHash } from 'node:crypto';
import { fromSeed } from '@nats-io/nkeys';
import { formatHostAuthorization, hostRequestPayload } from '@keyfleet/proto/v1';
import { identityStore } from '../../identity-store.js';

export interface HubRequestOptions {
  method?: 'GET' | 'POST';
  /** JSON body of a POST. */
  json?: unknown;
  signal?: AbortSignal;
  /** Default 30 s; a download passes its own signal instead. */
  timeoutMs?: number;
}

/**
 * A request to the hub's HTTP API as this enrolled host, signed with the host's NATS user key
 * (proto's host-request-signature): the hub URL, host id and key come from the state dir.
 */
export async function hubRequest(stateDir: string, pathAndQuery: string, opts: HubRequestOptions = {}): Promise<Response> {
  const { identity, credentials } = await identityStore.load(stateDir);
  const method = opts.method ?? 'GET';
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  const timestampMs = Date.now();
  const payload = hostRequestPayload({
    method,
    pathAndQuery,
    hostId: identity.hostId,
    timestampMs,
    bodySha256: createHash('sha256')
      .update(body ?? '')
      .digest('hex'),
  });
  const signature = fromSeed(new TextEncoder().encode(credentials.seed)).sign(new TextEncoder().encode(payload));
  const url = `${identity.hubUrl}${pathAndQuery}`;
  try {
    return await fetch(url, {
      method,
      headers: {
        authorization: formatHostAuthorization(identity.hostId, timestampMs, signature),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body,
      signal: opts.signal ?? AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new Error(`cannot reach the hub at ${url}: ${cause}`);
  }
}

/** The hub's `{ error }` of a refused request, or its status line. */
export async function hubRefusal(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return `HTTP ${res.status}: ${body.error}`;
  } catch {
    // not JSON
  }
  return `HTTP ${res.status}${text ? `: ${text.slice(0, 300)}` : ''}`;
}
