import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import { keycloakFetch } from './keycloak-fetch.js';
import type { VerifyCheck, VerifyLogin, VerifyReport } from '../keycloak-types.js';
import { listRealms } from './list-realms.js';
import { oauthError } from './oauth-error.js';
import { secretValue } from '../../../secret-value.js';

export interface VerifyTarget {
  /** Where this host reaches Keycloak's HTTP listener. */
  baseUrl: string;
  managementUrl: string;
  /** As configured: a public URL or a bare hostname; the issuer must match it. */
  hostname: string;
  adminUser: string;
  adminPassword: string;
  /** A `tls` block without files yet means a certificate is on its way (the tls feature installs it). */
  config?: { tls?: { certificateFile?: string } };
}

type CheckOutcome = { ok: boolean; detail: string };

const TLS_WARN_DAYS = 14;

function publicUrl(hostname: string): URL | undefined {
  if (!/^https?:\/\//i.test(hostname)) return undefined;
  try {
    return new URL(hostname);
  } catch {
    return undefined;
  }
}

async function health(t: VerifyTarget, signal: AbortSignal): Promise<CheckOutcome> {
  const url = `${t.managementUrl}/health/ready`;
  const res = await keycloakFetch(url, { signal, timeoutMs: 5_000 });
  const status = (res.json as { status?: string } | undefined)?.status;
  if (res.status === 200 && status === 'UP') return { ok: true, detail: `${url}: UP` };
  return { ok: false, detail: `${url} answered HTTP ${res.status}${status ? ` (${status})` : ''}` };
}

async function discovery(t: VerifyTarget, realm: string, signal: AbortSignal): Promise<CheckOutcome & { issuer?: string }> {
  const url = `${t.baseUrl}/realms/${encodeURIComponent(realm)}/.well-known/openid-configuration`;
  const res = await keycloakFetch(url, { signal });
  const issuer = (res.json as { issuer?: string } | undefined)?.issuer;
  if (res.status !== 200 || !issuer) return { ok: false, detail: `${url} answered HTTP ${res.status} without an issuer` };
  const configured = publicUrl(t.hostname);
  if (configured) {
    const expected = `${configured.href.replace(/\/+$/, '')}/realms/${realm}`;
    if (issuer !== expected) return { ok: false, detail: `issuer ${issuer} does not match the configured hostname (expected ${expected})`, issuer };
  } else {
    const host = new URL(issuer).hostname;
    if (host.toLowerCase() !== t.hostname.toLowerCase()) {
      return { ok: false, detail: `issuer ${issuer} names host ${host}, not the configured hostname ${t.hostname}`, issuer };
    }
  }
  return { ok: true, detail: `issuer ${issuer}`, issuer };
}

async function jwks(t: VerifyTarget, realm: string, signal: AbortSignal): Promise<CheckOutcome> {
  // Not the document's jwks_uri: that names the public hostname, which this host may not resolve.
  const url = `${t.baseUrl}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/certs`;
  const res = await keycloakFetch(url, { signal });
  const keys = (res.json as { keys?: Array<{ alg?: string; use?: string }> } | undefined)?.keys;
  if (res.status !== 200 || !Array.isArray(keys)) return { ok: false, detail: `${url} answered HTTP ${res.status} without a key set` };
  if (keys.length === 0) return { ok: false, detail: `realm ${realm} publishes no signing keys` };
  return { ok: true, detail: `${keys.length} key(s): ${keys.map((k) => k.alg ?? k.use ?? '?').join(', ')}` };
}

function peerCertificate(url: URL, signal: AbortSignal): Promise<{ cert: PeerCertificate; authorized: boolean; authorizationError?: string }> {
  return new Promise((resolve, reject) => {
    const port = Number(url.port || 443);
    const socket = connect({ host: url.hostname, port, servername: url.hostname, rejectUnauthorized: false, timeout: 5_000 }, () => {
      const cert = socket.getPeerCertificate();
      const authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
      socket.end();
      resolve({ cert, authorized: socket.authorized, authorizationError });
    });
    const onAbort = () => socket.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within 5s with ${url.host}`)));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'ECONNREFUSED' ? `connection refused to ${url.host}` : `TLS connection to ${url.host} failed: ${err.message}`)),
    );
  });
}

async function tls(t: VerifyTarget, signal: AbortSignal): Promise<CheckOutcome> {
  const candidates = [publicUrl(t.hostname), new URL(t.baseUrl)];
  const url = candidates.find((u) => u?.protocol === 'https:');
  if (!url) return { ok: true, detail: 'TLS not enabled' };
  if (t.config?.tls && !t.config.tls.certificateFile) return { ok: true, detail: 'TLS requested; no certificate installed yet' };
  const { cert, authorized, authorizationError } = await peerCertificate(url, signal);
  if (!cert?.valid_to) return { ok: false, detail: `${url.host} presented no certificate` };
  const problems: string[] = [];
  const notAfter = new Date(cert.valid_to);
  const notBefore = new Date(cert.valid_from);
  const now = Date.now();
  if (now > notAfter.getTime()) problems.push(`expired on ${notAfter.toISOString()}`);
  if (now < notBefore.getTime()) problems.push(`not valid before ${notBefore.toISOString()}`);
  const mismatch = checkServerIdentity(url.hostname, cert);
  if (mismatch) problems.push(mismatch.message);
  if (!authorized) problems.push(`not trusted: ${authorizationError ?? 'unknown reason'}`);
  if (problems.length > 0) return { ok: false, detail: `certificate of ${url.host}: ${problems.join('; ')}` };
  const days = Math.floor((notAfter.getTime() - now) / 86_400_000);
  return { ok: true, detail: `certificate of ${url.host} valid until ${notAfter.toISOString()} (${days} days${days < TLS_WARN_DAYS ? ', renew soon' : ''})` };
}

async function adminApi(t: VerifyTarget, signal: AbortSignal): Promise<CheckOutcome> {
  const realms = await listRealms(t, signal);
  return { ok: true, detail: `${realms.length} realm(s): ${realms.join(', ').slice(0, 1500)}` };
}

async function login(t: VerifyTarget, how: VerifyLogin | undefined, signal: AbortSignal): Promise<CheckOutcome> {
  if (!how) return { ok: true, detail: 'no login configured' };
  const form: Record<string, string> =
    how.grant === 'client_credentials'
      ? { grant_type: 'client_credentials', client_id: how.clientId, client_secret: secretValue(how.clientSecret) }
      : { grant_type: 'password', client_id: how.clientId, username: how.username, password: secretValue(how.password), scope: 'openid' };
  const what = `${how.grant} grant for client ${how.clientId} in realm ${how.realm}`;
  const res = await keycloakFetch(`${t.baseUrl}/realms/${encodeURIComponent(how.realm)}/protocol/openid-connect/token`, { signal, form });
  const body = res.json as { access_token?: string; expires_in?: number } | undefined;
  if (res.status !== 200 || !body?.access_token) return { ok: false, detail: `${oauthError(res.status, res.json)} (HTTP ${res.status}, ${what})` };
  return { ok: true, detail: `${what}: access token issued${body.expires_in ? `, expires in ${body.expires_in}s` : ''}` };
}

/**
 * Checks a running Keycloak the way its users depend on it: ready, the OIDC discovery
 * document with an issuer for the configured hostname, signing keys, TLS (when on), the
 * admin API and a real login. Never throws for a failed check: each says why it failed.
 */
export async function verifyKeycloak(target: VerifyTarget, how: VerifyLogin | undefined, signal: AbortSignal): Promise<VerifyReport> {
  const realm = how?.realm ?? 'master';
  const checks: VerifyCheck[] = [];
  const run = async (name: VerifyCheck['name'], fn: () => Promise<CheckOutcome>) => {
    const started = performance.now();
    let outcome: CheckOutcome;
    try {
      outcome = await fn();
    } catch (err) {
      if (signal.aborted) throw err;
      outcome = { ok: false, detail: (err as Error).message };
    }
    checks.push({ name, ok: outcome.ok, detail: outcome.detail.slice(0, 2000), ms: Math.round(performance.now() - started) });
  };
  await run('health', () => health(target, signal));
  await run('discovery', () => discovery(target, realm, signal));
  await run('jwks', () => jwks(target, realm, signal));
  await run('tls', () => tls(target, signal));
  await run('admin-api', () => adminApi(target, signal));
  await run('login', () => login(target, how, signal));
  return { ok: checks.every((c) => c.ok), checkedAt: new Date().toISOString(), checks };
}
