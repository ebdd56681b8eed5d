/**
 * How an enrolled agent authenticates to the hub's HTTP API (downloading an agent artifact,
 * reporting an upgrade, leaving the fleet): it has no API token, only its NATS user key pair,
 * whose public key the hub stored at enrollment. It signs one line per request with that key:
 *
 *   Authorization: KeyfleetHost <hostId>.<unix ms>.<base64url ed25519 signature>
 *
 * over `hostRequestPayload(...)`. The timestamp bounds a replay to the hub's allowed skew; the
 * body's sha256 is signed too, so a captured signature does not carry another body.
 */
export const HOST_AUTH_SCHEME = 'KeyfleetHost';

/** How far the host's clock (the signed timestamp) may be from the hub's. */
export const HOST_AUTH_MAX_SKEW_MS = 5 * 60_000;

export interface HostRequest {
  method: string;
  /** Path and query exactly as sent, e.g. `/v1/agent/artifact/file?version=1.2.0`. */
  pathAndQuery: string;
  hostId: string;
  timestampMs: number;
  /** Hex sha256 of the request body; of the empty string when there is none. */
  bodySha256: string;
}

/** The bytes the agent signs and the hub verifies. */
export function hostRequestPayload(r: HostRequest): string {
  return ['keyfleet-host-request-v1', r.method.toUpperCase(), r.pathAndQuery, r.hostId, String(r.timestampMs), r.bodySha256].join('\n');
}

export function formatHostAuthorization(hostId: string, timestampMs: number, signature: Uint8Array): string {
  return `${HOST_AUTH_SCHEME} ${hostId}.${timestampMs}.${Buffer.from(signature).toString('base64url')}`;
}

/** The parts of a `KeyfleetHost` authorization header; undefined when it is not one. */
export function parseHostAuthorization(header: string | undefined): { hostId: string; timestampMs: number; signature: Uint8Array } | undefined {
  const m = header?.match(/^KeyfleetHost\s+([a-z0-9][a-z0-9_-]{2,63})\.(\d{1,16})\.([A-Za-z0-9_-]{1,200})$/);
  if (!m) return undefined;
  return { hostId: m[1]!, timestampMs: Number(m[2]), signature: new Uint8Array(Buffer.from(m[3]!, 'base64url')) };
}
