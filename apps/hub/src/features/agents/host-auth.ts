import { createHash } from 'node:crypto';
import { HOST_AUTH_MAX_SKEW_MS, hostRequestPayload, parseHostAuthorization } from '@keyfleet/proto/v1';
import { fromPublic } from '@nats-io/nkeys';
import type { Context, MiddlewareHandler } from 'hono';
import { type Kysely, sql } from 'kysely';
import type { AppEnv } from '../../api/app-env.js';
import { createGuard } from '../../api/create-guard.js';
import { UNAUTHENTICATED_BODY_LIMIT } from '../../api/limit-body.js';
import { hashSecretToken } from '../../auth/secret-token.js';
import type { RevocationTables } from '../../auth/credential-revoker.js';
import type { Database } from '../../store/database.js';

/** Who a host-authenticated request came from; set by `hostAuth` for the route. */
export interface HostCaller {
  id: string;
  hostname: string;
  nkeyPublic: string;
}

/** Credentials the agent routes take, besides an API token. */
export type HostCredential = 'host' | 'enrollment';

// Keyed by the context: the core's body limit may replace the request object after this runs.
const hostCallers = new WeakMap<Context<AppEnv>, HostCaller>();

/** The host a `hostAuth` route was called by (throws if the route has no host auth: a programming error). */
export function hostCaller(c: Context<AppEnv>): HostCaller {
  const host = hostCallers.get(c);
  if (!host) throw new Error('hostCaller() on a request hostAuth did not authenticate as a host');
  return host;
}

const unauthorized = (c: Context<AppEnv>, error: string) => {
  c.header('WWW-Authenticate', 'KeyfleetHost, Bearer');
  return c.json({ error }, 401);
};

/**
 * Authenticates the agent routes. Accepted, as `accept` lists:
 * - `host`: an enrolled host's signed request (`Authorization: KeyfleetHost …`, see
 *   proto's host-request-signature), verified with the NATS public key the host enrolled with;
 *   a host whose credential was revoked is refused like an unknown one;
 * - `enrollment`: `Bearer kfe_…`, an enrollment token that could still enroll a host (unused,
 *   unrevoked, unexpired); it is not consumed. That is all an installing host holds;
 * - always: an operator's API token (`Bearer kf_…`, any role), through the core's guard.
 */
export function hostAuth(db: Kysely<Database>, action: string, accept: readonly HostCredential[]): MiddlewareHandler<AppEnv> {
  const guard = createGuard(db)('viewer', action);
  const revocations = db.withTables<RevocationTables>();
  return async (c, next) => {
    c.set('audit', { action });
    const header = c.req.header('authorization');
    const signed = parseHostAuthorization(header);
    if (signed && accept.includes('host')) {
      const skew = Math.abs(Date.now() - signed.timestampMs);
      if (skew > HOST_AUTH_MAX_SKEW_MS) {
        return unauthorized(
          c,
          `host signature is ${Math.round(skew / 1000)} s away from the hub's clock (at most ${HOST_AUTH_MAX_SKEW_MS / 1000} s): check the host's time`,
        );
      }
      const host = await db.selectFrom('hosts').select(['id', 'hostname', 'nkey_public']).where('id', '=', signed.hostId).executeTakeFirst();
      // The body is part of what was signed; read (a copy of) it bounded, before anything trusts it.
      const body = await readBounded(c.req.raw, UNAUTHENTICATED_BODY_LIMIT);
      if (!body) return c.json({ error: `request body is larger than ${UNAUTHENTICATED_BODY_LIMIT} bytes, the limit of this route` }, 413);
      const url = new URL(c.req.url);
      const payload = hostRequestPayload({
        method: c.req.method,
        pathAndQuery: url.pathname + url.search,
        hostId: signed.hostId,
        timestampMs: signed.timestampMs,
        bodySha256: createHash('sha256').update(body).digest('hex'),
      });
      if (!host || !verifies(host.nkey_public, payload, signed.signature)) return unauthorized(c, 'host signature does not verify for an enrolled host');
      const revoked = await revocations.selectFrom('nats_revocations').select('reason').where('nkey_public', '=', host.nkey_public).executeTakeFirst();
      if (revoked) return unauthorized(c, `the credential of host ${host.id} was revoked (${revoked.reason})`);
      c.set('actor', { label: `host:${host.id}` });
      hostCallers.set(c, { id: host.id, hostname: host.hostname, nkeyPublic: host.nkey_public });
      return next();
    }
    const bearer = header?.match(/^Bearer\s+(kfe_\S+)$/i)?.[1];
    if (bearer && accept.includes('enrollment')) {
      const token = await db
        .selectFrom('enrollment_tokens')
        .select('id')
        .where('token_hash', '=', hashSecretToken(bearer))
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .executeTakeFirst();
      if (!token) return unauthorized(c, 'enrollment token is unknown, used, revoked or expired');
      c.set('actor', { label: `enrollment:${token.id}` });
      return next();
    }
    if (signed || bearer) return unauthorized(c, `this route does not take that credential; it takes ${[...accept, 'an API token'].join(', ')}`);
    return guard(c, next);
  };
}

/** The body of a clone (the route still reads the original), or undefined past `max` bytes. */
async function readBounded(req: Request, max: number): Promise<Uint8Array | undefined> {
  if (!req.body) return new Uint8Array();
  if (Number(req.headers.get('content-length') ?? 0) > max) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.clone().body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function verifies(publicKey: string, payload: string, signature: Uint8Array): boolean {
  try {
    return fromPublic(publicKey).verify(new TextEncoder().encode(payload), signature);
  } catch {
    return false;
  }
}
