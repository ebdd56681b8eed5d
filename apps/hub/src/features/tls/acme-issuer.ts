import { request as httpRequest } from 'node:http';
import { type Agent, request as httpsRequest } from 'node:https';
import acme from 'acme-client';
import type { AcmeChallengeSolver } from './acme-challenge-solver.js';
import { ariCertId } from './ari-cert-id.js';
import type { CertificateIssuer, IssueRequest, RenewalPlan } from './certificate-issuer.js';
import { ariRecheckTime, ariRenewalTime, renewalTime } from './renewal-time.js';
import { type RevocationReason, revocationReasons } from './revocation-reason.js';

interface AcmeDirectory {
  renewalInfo?: string;
}

export interface AcmeIssuerOptions {
  directoryUrl: string;
  /** The fleet's account at this directory (made on first use). */
  client: () => Promise<acme.Client>;
  solver: AcmeChallengeSolver;
  /** Takes one order from the fleet's budget at this CA (throws when it is spent). */
  reserveOrder?: () => Promise<void>;
  /** Follow the CA's renewal windows when it offers them (KEYFLEET_ACME_ARI=off turns it off). */
  ari?: boolean;
  now?: () => Date;
  random?: () => number;
}

/**
 * A plain GET for the directory and renewalInfo, over the same HTTPS agent acme-client uses (so
 * the same trusted CAs). Not acme-client's HTTP client: it retries a refused connection and then
 * fails with a TypeError of its own that hides the cause.
 */
function get(url: string, signal?: AbortSignal): Promise<{ status: number; data: unknown; retryAfter: string | null }> {
  const agent = acme.axios.defaults.httpsAgent as Agent | undefined;
  const timeout = AbortSignal.timeout(30_000);
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(
      url,
      { agent, headers: { 'user-agent': 'keyfleet-hub', accept: 'application/json' }, signal: signal ? AbortSignal.any([signal, timeout]) : timeout },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('error', reject);
        res.on('end', () => {
          let data: unknown;
          try {
            data = JSON.parse(text);
          } catch {
            data = undefined;
          }
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, data, retryAfter: typeof retryAfter === 'string' ? retryAfter : null });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** What a failed request says happened: the socket's error code (ECONNREFUSED, …) when there is one. */
const fetchFailure = (err: unknown) => {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
};

const problemType = (err: unknown) => String((err as { type?: string }).type ?? (err as Error).message ?? '');

/**
 * An ACME CA behind the issuer interface: one order per issuance, each authorization answered by
 * the solver (HTTP-01 on the host or DNS-01 in DNS), and renewal times from the CA's ACME Renewal
 * Information (RFC 9773) when its directory has `renewalInfo`. acme-client 5 knows nothing of
 * ARI, so the renewalInfo GET (unauthenticated, as the RFC has it) and the order's `replaces`
 * field are done here; the order itself still goes through acme-client with the fleet's account.
 */
export class AcmeIssuer implements CertificateIssuer {
  private directoryCache?: AcmeDirectory;
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(private readonly opts: AcmeIssuerOptions) {
    this.now = opts.now ?? (() => new Date());
    this.random = opts.random ?? Math.random;
  }

  /**
   * The directory document. A CA that is down makes acme-client fail with an internal TypeError
   * after its retries; asking the directory first turns that into a reason an operator can act on.
   */
  private async directory(signal?: AbortSignal): Promise<AcmeDirectory> {
    if (this.directoryCache) return this.directoryCache;
    const url = this.opts.directoryUrl;
    const res = await get(url, signal).catch((err: unknown) => {
      if (signal?.aborted) throw err;
      throw new Error(`the ACME directory ${url} is unreachable: ${fetchFailure(err)}`);
    });
    if (res.status !== 200) {
      const detail = (res.data as { detail?: unknown } | undefined)?.detail;
      throw new Error(`the ACME directory ${url} is unreachable: HTTP ${res.status}${typeof detail === 'string' ? ` (${detail})` : ''}`);
    }
    this.directoryCache = res.data as AcmeDirectory;
    return this.directoryCache;
  }

  /** A CA that is down fails here, before the host makes a key and before the order budget counts an order. */
  async admit(signal?: AbortSignal): Promise<void> {
    await this.directory(signal);
    await this.opts.reserveOrder?.();
  }

  async issue({ csrPem, domains, replacesPem, signal }: IssueRequest): Promise<{ certificatePem: string; replaces?: string }> {
    const directory = await this.directory(signal);
    const client = await this.opts.client();
    const identifiers = domains.map((value) => ({ type: 'dns' as const, value }));
    // Only a CA with ARI knows `replaces`; others may refuse the unknown field.
    let replaces = replacesPem && directory.renewalInfo && this.opts.ari !== false ? ariCertId(replacesPem) : undefined;
    let order: acme.Order;
    try {
      order = await client.createOrder({ identifiers, ...(replaces ? { replaces } : {}) } as acme.Order);
    } catch (err) {
      // A renewal that got its certificate but failed to install it already replaced the old one
      // at the CA; the retry orders without the link rather than failing forever (one extra order
      // at most per renewal, outside the fleet's order budget).
      if (!replaces || !/alreadyReplaced|already has a replacement/i.test(problemType(err))) throw err;
      replaces = undefined;
      order = await client.createOrder({ identifiers });
    }
    const solver = this.opts.solver;
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status === 'valid') continue;
      const domain = authz.identifier.value;
      const challenge = authz.challenges.find((c) => c.type === solver.type);
      if (!challenge) throw new Error(`the CA offers no ${solver.type} challenge for ${domain}`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      await solver.present(domain, challenge.token, keyAuthorization, signal);
      try {
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      } catch (err) {
        throw new Error(`the CA could not validate ${domain} over ${solver.description}: ${(err as Error).message}`);
      } finally {
        await solver.cleanup(domain, challenge.token, keyAuthorization, signal).catch(() => {
          // A record left behind is harmless (a fresh value per order) and must not fail an issuance that worked.
        });
      }
    }
    const finalized = await client.finalizeOrder(order, csrPem);
    return { certificatePem: await client.getCertificate(finalized), ...(replaces ? { replaces } : {}) };
  }

  /** RFC 8555 7.6, signed with the fleet's account (which ordered the certificate). */
  async revoke(certificatePem: string, reason: RevocationReason, signal?: AbortSignal): Promise<void> {
    await this.directory(signal);
    const client = await this.opts.client();
    try {
      await client.revokeCertificate(certificatePem, { reason: revocationReasons[reason] });
    } catch (err) {
      throw new Error(`the CA refused to revoke it: ${(err as Error).message}`);
    }
  }

  async planRenewal(certificatePem: string, signal?: AbortSignal): Promise<RenewalPlan> {
    const info = acme.crypto.readCertificateInfo(certificatePem);
    const fallback = { at: renewalTime(info.notBefore, info.notAfter) };
    if (this.opts.ari === false) return fallback;
    const directory = await this.directory(signal).catch(() => undefined);
    if (!directory?.renewalInfo) return fallback;
    const now = this.now();
    const res = await get(`${directory.renewalInfo.replace(/\/$/, '')}/${ariCertId(certificatePem)}`, signal).catch(() => undefined);
    // The CA's renewalInfo is down: the lifetime rule holds until it answers again.
    if (!res) return { ...fallback, recheckAt: ariRecheckTime(null, now) };
    const recheckAt = ariRecheckTime(res.retryAfter, now);
    const body = res.status === 200 ? (res.data as { suggestedWindow?: { start?: string; end?: string } } | undefined) : undefined;
    const start = Date.parse(body?.suggestedWindow?.start ?? '');
    const end = Date.parse(body?.suggestedWindow?.end ?? '');
    // RFC 9773 4.2: a window whose end is not after its start is invalid, and so ignored.
    if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return { ...fallback, recheckAt };
    const window = { start: new Date(start), end: new Date(end) };
    return { at: ariRenewalTime(window, now, this.random), window, recheckAt };
  }
}
