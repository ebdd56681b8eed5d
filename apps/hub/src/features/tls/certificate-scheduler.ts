import { sql } from 'kysely';
import { Gauge } from 'prom-client';
import type { ApiDeps } from '../../api/api-deps.js';
import type { HubService } from '../../hub-feature.js';
import { tlsDb } from './certificates-tables.js';
import { type CertificateRow, issueCertificate } from './issue-certificate.js';
import { OrderBudgetSpent, orderLimitFromEnv } from './acme-order-budget.js';
import { certificateIssuerFor } from './certificate-issuer-for.js';
import { retryDelayMs } from './renewal-time.js';

/** How often each hub looks for due certificates (KEYFLEET_CERT_SCAN_MS, default 15 s). */
const scanMs = () => Number(process.env.KEYFLEET_CERT_SCAN_MS) || 15_000;
/** First retry delay after a failure, doubling per failure (KEYFLEET_CERT_RETRY_BASE_MS, default 1 min). */
const retryBaseMs = () => Number(process.env.KEYFLEET_CERT_RETRY_BASE_MS) || 60_000;
/** A claim outlives the longest issuance; a hub that died mid-way frees its certificate after it. */
const LEASE_MS = 20 * 60_000;

/** Claims the most overdue certificate no other hub works on, marking it `issuing`. */
async function claimDue(deps: ApiDeps): Promise<CertificateRow | undefined> {
  const db = tlsDb(deps.db);
  return db
    .updateTable('certificates')
    .set({ state: 'issuing', lease_until: sql<Date>`now() + ${`${LEASE_MS} milliseconds`}::interval`, updated_at: sql<Date>`now()` })
    .where(
      'id',
      '=',
      db
        .selectFrom('certificates')
        .select('id')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)]))
        .orderBy('next_attempt_at')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .executeTakeFirst();
}

async function runOne(deps: ApiDeps, cert: CertificateRow, signal: AbortSignal): Promise<void> {
  const db = tlsDb(deps.db);
  const started = Date.now();
  try {
    const issued = await issueCertificate(deps, cert, signal);
    await db
      .updateTable('certificates')
      .set({
        state: 'valid',
        serial: issued.serial,
        not_before: issued.notBefore,
        not_after: issued.notAfter,
        certificate_pem: issued.certificatePem,
        served_serial: issued.servedSerial,
        served_not_after: issued.servedNotAfter,
        served_checked_at: new Date(),
        next_attempt_at: issued.renewal.at,
        renewal_window_start: issued.renewal.window?.start ?? null,
        renewal_window_end: issued.renewal.window?.end ?? null,
        renewal_check_at: issued.renewal.recheckAt ?? null,
        attempts: 0,
        last_error: null,
        last_issued_ms: Date.now() - started,
        // A revoked certificate renewed by the operator is a fresh one.
        revoked_at: null,
        revocation_reason: null,
        lease_until: null,
        updated_at: new Date(),
      })
      .where('id', '=', cert.id)
      .execute();
    deps.log.info(
      {
        certificateId: cert.id,
        hostId: cert.host_id,
        serial: issued.serial,
        ms: Date.now() - started,
        replaces: issued.replaces,
        nextRenewal: issued.renewal.at,
        renewalWindow: issued.renewal.window,
      },
      'certificate issued, installed and served',
    );
  } catch (err) {
    if (err instanceof OrderBudgetSpent) {
      // Not a failure: the certificate waits its turn in the fleet's queue at this CA (due rows
      // are claimed oldest first), with what it had before, and the reason visible on the row.
      await db
        .updateTable('certificates')
        .set({
          state: cert.attempts > 0 ? 'failed' : cert.revoked_at ? 'revoked' : cert.serial ? 'valid' : 'pending',
          last_error: err.message,
          next_attempt_at: err.retryAt,
          lease_until: null,
          updated_at: new Date(),
        })
        .where('id', '=', cert.id)
        .execute();
      deps.log.info({ certificateId: cert.id, hostId: cert.host_id, retryAt: err.retryAt }, 'certificate queued behind the ACME order budget');
      return;
    }
    const attempts = cert.attempts + 1;
    const message = (err as Error).message.slice(0, 2000);
    // A failed renewal keeps the certificate the host serves; the row says so (served_*) and
    // retries with backoff, visibly, until it succeeds or the operator steps in.
    await db
      .updateTable('certificates')
      .set({
        state: 'failed',
        attempts,
        last_error: message,
        next_attempt_at: new Date(Date.now() + retryDelayMs(attempts, retryBaseMs())),
        lease_until: null,
        updated_at: new Date(),
      })
      .where('id', '=', cert.id)
      .execute();
    deps.log.warn({ certificateId: cert.id, hostId: cert.host_id, attempts, error: message }, 'certificate issuance failed; will retry');
  }
}

/**
 * Claims one valid certificate whose CA asked to be asked again (its ARI Retry-After passed),
 * holding it for a few minutes so another hub does not ask at the same time.
 */
async function claimRecheck(deps: ApiDeps): Promise<CertificateRow | undefined> {
  const db = tlsDb(deps.db);
  return db
    .updateTable('certificates')
    .set({ renewal_check_at: sql<Date>`now() + interval '5 minutes'` })
    .where(
      'id',
      '=',
      db
        .selectFrom('certificates')
        .select('id')
        .where('state', '=', 'valid')
        .where('certificate_pem', 'is not', null)
        .where('renewal_check_at', '<=', sql<Date>`now()`)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)]))
        .orderBy('renewal_check_at')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .executeTakeFirst();
}

/**
 * Asks the CA again for its renewal window (RFC 9773 4.3): a moved window (an incident at the CA,
 * a revocation) gets a new random time in it; the same window keeps the time already drawn, so
 * re-asking does not re-roll the fleet's spread.
 */
async function recheckRenewal(deps: ApiDeps, cert: CertificateRow, signal: AbortSignal): Promise<void> {
  const db = tlsDb(deps.db);
  try {
    const plan = await (await certificateIssuerFor(deps, cert)).planRenewal(cert.certificate_pem!, signal);
    const same = plan.window?.start.getTime() === cert.renewal_window_start?.getTime() && plan.window?.end.getTime() === cert.renewal_window_end?.getTime();
    await db
      .updateTable('certificates')
      .set({
        ...(same ? {} : { next_attempt_at: plan.at, renewal_window_start: plan.window?.start ?? null, renewal_window_end: plan.window?.end ?? null }),
        renewal_check_at: plan.recheckAt ?? null,
        updated_at: new Date(),
      })
      // Not if an issuance claimed it meanwhile: that one sets its own plan.
      .where('id', '=', cert.id)
      .where('state', '=', 'valid')
      .execute();
    if (!same) deps.log.info({ certificateId: cert.id, nextRenewal: plan.at, renewalWindow: plan.window }, 'the CA moved its renewal window');
  } catch (err) {
    await db.updateTable('certificates').set({ renewal_check_at: sql<Date>`now() + interval '1 hour'` }).where('id', '=', cert.id).execute();
    deps.log.warn({ certificateId: cert.id, err }, 'asking the CA for renewal information failed; asking again in an hour');
  }
}

function registerMetric(deps: ApiDeps): void {
  const registry = deps.metrics.registry;
  if (registry.getSingleMetric('keyfleet_cert_not_after_seconds')) return;
  const db = tlsDb(deps.db);
  new Gauge({
    name: 'keyfleet_cert_not_after_seconds',
    help: 'Expiry (Unix seconds) of the certificate each host was last seen serving.',
    labelNames: ['host', 'domain'],
    registers: [registry],
    async collect() {
      const rows = await db
        .selectFrom('certificates')
        .innerJoin('hosts', 'hosts.id', 'certificates.host_id')
        .select(['hosts.hostname', 'certificates.domains', 'certificates.served_not_after'])
        .where('certificates.served_not_after', 'is not', null)
        .execute();
      this.reset();
      for (const r of rows) this.set({ host: r.hostname, domain: r.domains[0] ?? '' }, r.served_not_after!.getTime() / 1000);
    },
  });
}

/**
 * Issues, renews and retries certificates when due. Runs on every hub: each certificate is
 * claimed with a lease (`FOR UPDATE SKIP LOCKED`), so two hubs never issue the same one and a
 * hub that dies mid-issuance frees it after the lease. One issuance at a time per hub keeps the
 * fleet's pace at the CA modest, and the fleet-wide order budget (KEYFLEET_ACME_ORDER_LIMIT,
 * counted in the database across hubs) queues what exceeds the CA's limits. Between issuances it asks ACME
 * CAs again for their renewal windows when their Retry-After has passed.
 */
export const certificateScheduler: HubService = {
  name: 'certificate-scheduler',
  async start(deps) {
    // A malformed KEYFLEET_ACME_ORDER_LIMIT stops the hub here, not each issuance later.
    orderLimitFromEnv();
    registerMetric(deps);
    const stopping = new AbortController();
    let running: Promise<void> = Promise.resolve();
    let busy = false;
    const pass = async () => {
      for (;;) {
        if (stopping.signal.aborted) return;
        const cert = await claimDue(deps);
        if (!cert) break;
        await runOne(deps, cert, stopping.signal);
      }
      for (;;) {
        if (stopping.signal.aborted) return;
        const cert = await claimRecheck(deps);
        if (!cert) return;
        await recheckRenewal(deps, cert, stopping.signal);
      }
    };
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      running = pass()
        .catch((err: unknown) => deps.log.warn({ err }, 'certificate scheduler pass failed'))
        .finally(() => {
          busy = false;
        });
    }, scanMs());
    return {
      async stop() {
        clearInterval(timer);
        stopping.abort();
        await running;
      },
    };
  },
};
