import type { Logger } from '@keyfleet/log';
import { type NatsAuthority, publishAccountJwt, REVOCATION_INBOX_PREFIX } from '@keyfleet/nats-auth';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../store/database.js';

/** Agent credentials taken back (migration 0007); rows outlive their host. */
export type RevocationTables = {
  nats_revocations: {
    nkey_public: string;
    host_id: string;
    hostname: string;
    reason: RevocationReason;
    revoked_at: ColumnType<Date, Date | string | undefined, never>;
    revoked_by: string | null;
  };
};

/** `decommissioned`: the host was deleted; `revoked`: only its credential was taken back. */
export type RevocationReason = 'decommissioned' | 'revoked';

/**
 * How far past the revocation the NATS account still refuses JWTs of that key. NATS refuses
 * JWTs issued at or before the revocation time; the JWT's time comes from the clock of the
 * hub that minted it, the revocation's from the database, and an hour absorbs any difference.
 * Agents make a new key for every enrollment, so nothing legitimate is refused by it.
 */
const CLOCK_MARGIN_SEC = 3600;
const REQUEST_TIMEOUT_MS = 5_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** Rounds of push-then-check before leaving convergence to the retry (other hubs revoking at the same time). */
const MAX_ROUNDS = 5;

const tables = (db: Kysely<Database>) => db.withTables<RevocationTables>();

/**
 * Takes agents' NATS credentials back. The database holds every revocation (so every hub
 * knows them, and a hello from a revoked host is refused); NATS enforces them: this hub
 * signs the Keyfleet account JWT with the whole list and pushes it through its
 * system-account connection, and the servers close revoked agents' connections at once and
 * refuse them afterwards. The push is repeated whenever that connection is re-established
 * (a NATS restart, perhaps with a lost resolver dir) and, after a failure, until it lands.
 */
export class CredentialRevoker {
  private queue: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private closed = false;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly authority: Pick<NatsAuthority, 'accountJwt' | 'accountPublicKey'>,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {}

  /** Connects to the system account and pushes the recorded revocations once. */
  static async start(opts: {
    db: Kysely<Database>;
    authority: Pick<NatsAuthority, 'accountJwt' | 'accountPublicKey' | 'revocationCreds'>;
    servers: string[];
    caFile?: string;
    log: Logger;
  }): Promise<CredentialRevoker> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: opts.servers,
        name: 'keyfleet-hub revocations',
        authenticator: credsAuthenticator(new TextEncoder().encode(await opts.authority.revocationCreds())),
        inboxPrefix: REVOCATION_INBOX_PREFIX,
        maxReconnectAttempts: -1,
        ...(opts.caFile ? { tls: { caFile: opts.caFile } } : {}),
      });
    } catch (err) {
      throw new Error(
        `cannot connect to the NATS system account to revoke agent credentials: ${(err as Error).message} (an auth.conf from before revocation existed needs \`keyfleet-hub nats-init --dir <dir> --upgrade\`)`,
        { cause: err },
      );
    }
    const revoker = new CredentialRevoker(opts.db, opts.authority, nc, opts.log);
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') void revoker.publish();
    })();
    await revoker.publish();
    return revoker;
  }

  /**
   * Records that a host's credential is revoked, in the caller's transaction (idempotent: the
   * first revocation's time stays). Call `publish` after the commit.
   */
  static async record(
    db: Kysely<Database>,
    host: { id: string; hostname: string; nkeyPublic: string },
    reason: RevocationReason,
    revokedBy: string | null,
  ): Promise<Date> {
    const row = await tables(db)
      .insertInto('nats_revocations')
      .values({ nkey_public: host.nkeyPublic, host_id: host.id, hostname: host.hostname, reason, revoked_by: revokedBy })
      .onConflict((oc) => oc.column('nkey_public').doUpdateSet({ reason }))
      .returning('revoked_at')
      .executeTakeFirstOrThrow();
    return row.revoked_at;
  }

  /** A host's revocation, if its credential was taken back. */
  static async find(db: Kysely<Database>, hostId: string): Promise<{ reason: RevocationReason; revokedAt: Date } | undefined> {
    const row = await tables(db)
      .selectFrom('nats_revocations')
      .select(['reason', 'revoked_at'])
      .where('host_id', '=', hostId)
      .orderBy('revoked_at', 'desc')
      .executeTakeFirst();
    return row && { reason: row.reason, revokedAt: row.revoked_at };
  }

  /**
   * Makes NATS enforce every recorded revocation. Resolves true once a server stored an
   * account JWT with all of them; false when NATS did not take it (logged, and retried in
   * the background until it does). Calls run one after another, each after its caller's
   * revocation was committed, so none is left out.
   */
  publish(): Promise<boolean> {
    const run = this.queue.then(() => this.pushUntilStable());
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.queue;
    if (!this.nc.isClosed()) await this.nc.close();
  }

  private async pushUntilStable(): Promise<boolean> {
    if (this.closed) return false;
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const revocations = await this.load();
        await publishAccountJwt(this.nc, this.authority.accountPublicKey, await this.authority.accountJwt(revocations), REQUEST_TIMEOUT_MS);
        // Another hub may have pushed a list read before this one's revocation was committed,
        // and its push may land after ours; whoever pushed last checks and pushes again.
        const now = await this.load();
        if (sameKeys(revocations, now)) {
          if (this.retryAttempt > 0) this.log.info({ revocations: Object.keys(now).length }, 'NATS now enforces every agent revocation');
          this.retryAttempt = 0;
          clearTimeout(this.retryTimer);
          this.log.debug({ revocations: Object.keys(now).length }, 'agent revocations pushed to NATS');
          return true;
        }
      }
      throw new Error(`the revocation list kept changing over ${MAX_ROUNDS} pushes`);
    } catch (err) {
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.retryAttempt++, 16));
      this.log.error({ reason: (err as Error).message, retryInMs: delay }, 'NATS does not enforce the agent revocations yet; will retry');
      clearTimeout(this.retryTimer);
      if (!this.closed) {
        this.retryTimer = setTimeout(() => void this.publish(), delay);
        this.retryTimer.unref();
      }
      return false;
    }
  }

  private async load(): Promise<Record<string, number>> {
    const rows = await tables(this.db).selectFrom('nats_revocations').select(['nkey_public', 'revoked_at']).execute();
    return Object.fromEntries(rows.map((r) => [r.nkey_public, Math.floor(r.revoked_at.getTime() / 1000) + CLOCK_MARGIN_SEC]));
  }
}

function sameKeys(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
