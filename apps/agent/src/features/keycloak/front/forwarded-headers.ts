import type { IncomingHttpHeaders } from 'node:http';
import { isIPv6 } from 'node:net';

/**
 * Which forwarding headers the front takes from its clients. `none`: the front is the edge
 * (nothing in front of it), so whatever a client claims is dropped. `xforwarded` / `forwarded`:
 * a proxy in front of it (e.g. one terminating TLS) sets that style, and only it can reach the
 * front's port; its values are kept and the front adds its own hop.
 */
export type UpstreamHeaders = 'none' | 'xforwarded' | 'forwarded';

/** What the front knows of one request's connection. */
export interface ClientConnection {
  /** The peer's address as the socket reports it. */
  remoteAddress: string | undefined;
  /** Scheme the client used towards the front: the front itself speaks plain HTTP. */
  proto: 'http' | 'https';
}

const X_FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server'];
/** Every header some proxy or server reads as "who the client is"; all dropped unless an upstream is trusted for them. */
const CLIENT_CLAIMS = new Set([...X_FORWARDED, 'forwarded', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip']);

/** An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d; Keycloak's events should say a.b.c.d. */
function plainAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

const joined = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value);

/** A `Forwarded` node (RFC 7239 §6): IPv6 addresses are bracketed and quoted. */
const forwardedNode = (address: string) => (isIPv6(address) ? `"[${address}]"` : address);
const quoted = (value: string) => (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`);

/**
 * The forwarding headers the front sends to Keycloak for one request, given the client's (already
 * stripped of hop-by-hop) headers: who the client is, which scheme and host it used. Keycloak
 * trusts them from the front only (proxy-trusted-addresses), so they are only as good as this:
 * claims a client may not make are removed, never passed through.
 */
export function forwardedHeaders(headers: IncomingHttpHeaders, conn: ClientConnection, upstream: UpstreamHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!CLIENT_CLAIMS.has(name)) out[name] = value;
  const client = plainAddress(conn.remoteAddress);
  const host = headers.host;
  if (upstream === 'forwarded') {
    const element = [`for=${forwardedNode(client)}`, ...(host ? [`host=${quoted(host)}`] : []), `proto=${conn.proto}`].join(';');
    const earlier = joined(headers.forwarded);
    out.forwarded = earlier ? `${earlier}, ${element}` : element;
    return out;
  }
  const trusted = upstream === 'xforwarded';
  const earlierFor = trusted ? joined(headers['x-forwarded-for']) : undefined;
  out['x-forwarded-for'] = earlierFor ? `${earlierFor}, ${client}` : client;
  // Set by the trusted proxy: the scheme and host the client used there, not towards the front.
  const keep = (name: string) => (trusted ? joined(headers[name]) : undefined);
  out['x-forwarded-proto'] = keep('x-forwarded-proto') ?? conn.proto;
  const forwardedHost = keep('x-forwarded-host') ?? host;
  if (forwardedHost) out['x-forwarded-host'] = forwardedHost;
  for (const name of ['x-forwarded-port', 'x-forwarded-prefix']) {
    const value = keep(name);
    if (value) out[name] = value;
  }
  return out;
}
