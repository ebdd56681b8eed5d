/** The one call needed of a NATS connection (a `NatsConnection` of @nats-io/transport-node). */
interface Requester {
  request(subject: string, payload: string, opts: { timeout: number }): Promise<{ json<T>(): T; string(): string }>;
}

/** Inbox prefix of the hub's system-account connection, the only subjects it may receive on. */
export const REVOCATION_INBOX_PREFIX = '_INBOX_kf_revocations';

/** Where a system-account user publishes a new JWT of `account`; every server of the cluster takes it. */
export function accountUpdateSubject(account: string): string {
  return `$SYS.REQ.ACCOUNT.${account}.CLAIMS.UPDATE`;
}

/** nats-server's answer to a claims update (ServerAPIClaimUpdateResponse). */
interface ClaimUpdateResponse {
  server?: { name?: string };
  data?: { account?: string; code?: number; message?: string };
  error?: { account?: string; code?: number; description?: string };
}

/**
 * Sends an account JWT to the servers' account resolver over a system-account connection
 * and resolves once a server stored it; throws with the server's reason otherwise. A full
 * resolver persists it; a MEMORY resolver applies it until the server restarts.
 */
export async function publishAccountJwt(nc: Requester, account: string, jwt: string, timeoutMs = 5_000): Promise<void> {
  const reply = await nc.request(accountUpdateSubject(account), jwt, { timeout: timeoutMs });
  let answer: ClaimUpdateResponse;
  try {
    answer = reply.json<ClaimUpdateResponse>();
  } catch {
    throw new Error(`the NATS server answered the account update with something that is not JSON: ${reply.string().slice(0, 200)}`);
  }
  if (answer.error) throw new Error(`the NATS server refused the account update: ${answer.error.description ?? JSON.stringify(answer.error)}`);
  if (answer.data?.code !== 200 || answer.data.message !== 'jwt updated') {
    // "jwt update skipped": the server does not know the account, so nothing was revoked there.
    throw new Error(`the NATS server did not apply the account update: ${answer.data?.message ?? JSON.stringify(answer)}`);
  }
}
