import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupManifest } from '@keyfleet/proto/v1';
import { TaskFailure } from '../../task-failure.js';
import { drillKeycloakHome } from './drill-keycloak-home.js';
import { ScratchKeycloak } from './scratch-keycloak.js';
import { tokenKid } from './token-kid.js';

export interface KeycloakProofOptions {
  stateDir: string;
  manifest: BackupManifest;
  /** The restored scratch database. */
  db: { url: string; username: string; password: string };
  /** When the drill began (its download): the RTO is counted from there. */
  since: number;
  signal: AbortSignal;
  progress(percent: number, message: string): void;
}

export interface KeycloakProof {
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  /** Until the scratch Keycloak answered ready; undefined when it did not. */
  readyMs?: number;
  /** Per realm, the `kid` that signed the drill client's token. */
  tokenKids: Record<string, string>;
}

// One scratch Keycloak at a time on a host: drills share the drill home and its data dir.
let queue: Promise<unknown> = Promise.resolve();

/**
 * The part of a drill that proves the restored database serves: a scratch Keycloak of the
 * backup's version boots on it, then in every enabled realm a drill client made in the scratch
 * copy obtains a token, whose `kid` must be one of the realm's signing key ids in the manifest.
 * The scratch Keycloak is stopped and its data dir removed whatever happened. A drill host
 * without the backup's Keycloak version fails the task as `invalid_input`: that says nothing
 * about the backup, which must not be marked failed for it.
 */
export function proveKeycloakBoots(opts: KeycloakProofOptions): Promise<KeycloakProof> {
  const turn = queue.then(() => prove(opts));
  queue = turn.catch(() => undefined);
  return turn;
}

async function prove(opts: KeycloakProofOptions): Promise<KeycloakProof> {
  const { manifest, signal } = opts;
  const version = manifest.keycloak.version;
  const checks: KeycloakProof['checks'] = [];
  const tokenKids: Record<string, string> = {};
  let keycloak: ScratchKeycloak | undefined;
  let data: string | undefined;
  opts.progress(60, `preparing a scratch Keycloak ${version}`);
  const { home, javaHome } = await drillKeycloakHome(opts.stateDir, manifest.keycloak, signal).catch((err: Error) => {
    throw new TaskFailure('invalid_input', `cannot boot a scratch Keycloak on this drill host: ${err.message}`);
  });
  try {
    // A fresh data dir per drill (temp files, transaction logs): nothing of an earlier drill is recovered.
    data = join(home, 'data');
    await rm(data, { recursive: true, force: true });
    await mkdir(data, { mode: 0o700 });
    opts.progress(65, `starting a scratch Keycloak ${version} on the restored database (loopback only)`);
    keycloak = await ScratchKeycloak.start({ home, javaHome, db: opts.db, stateDir: opts.stateDir, signal });
    checks.push({
      name: 'keycloak',
      ok: true,
      detail: `Keycloak ${version} started on the restored database, ready in ${(keycloak.readyMs / 1000).toFixed(1)}s (loopback only)`,
    });
    opts.progress(85, 'scratch Keycloak ready; obtaining tokens with drill clients');
  } catch (err) {
    checks.push({ name: 'keycloak', ok: false, detail: `no scratch Keycloak ${version}: ${(err as Error).message.slice(0, 1500)}` });
  }
  try {
    if (keycloak) {
      const check = await tokens(keycloak, manifest, tokenKids, signal);
      // In the check's words too: the hub records the checks of each drill with its backup.
      if (check.ok) check.detail += `; RTO ${((Date.now() - opts.since) / 1000).toFixed(1)}s from the download to tokens`;
      checks.push(check);
    }
  } catch (err) {
    checks.push({ name: 'token', ok: false, detail: (err as Error).message.slice(0, 1500) });
  } finally {
    opts.progress(95, 'stopping the scratch Keycloak');
    await keycloak?.stop();
    if (data) await rm(data, { recursive: true, force: true });
  }
  return { checks, readyMs: keycloak?.readyMs, tokenKids };
}

/** client_credentials at a realm's token endpoint; the access token. */
async function clientToken(baseUrl: string, realm: string, clientId: string, secret: string, signal: AbortSignal): Promise<string> {
  const res = await fetch(`${baseUrl}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    signal,
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!res.ok || !body.access_token)
    throw new Error(`${realm}: no token for ${clientId}: HTTP ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim());
  return body.access_token;
}

/**
 * The master realm's token comes from the bootstrap service client; every other realm gets a
 * confidential service-account client of its own, made through the admin API of the scratch copy.
 */
async function tokens(keycloak: ScratchKeycloak, manifest: BackupManifest, kids: Record<string, string>, signal: AbortSignal) {
  const { baseUrl, admin } = keycloak;
  const adminToken = await clientToken(baseUrl, 'master', admin.clientId, admin.secret, signal);
  const adminApi = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}/admin/realms${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!res.ok) throw new Error(`${method} /admin/realms${path}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    return res.status === 200 ? ((await res.json()) as unknown) : undefined;
  };
  const problems: string[] = [];
  const skipped: string[] = [];
  for (const realm of manifest.realms) {
    const path = `/${encodeURIComponent(realm.realm)}`;
    let token: string;
    if (realm.realm === 'master') {
      token = adminToken;
    } else {
      if (((await adminApi('GET', path)) as { enabled?: boolean } | undefined)?.enabled === false) {
        skipped.push(realm.realm);
        continue;
      }
      const clientId = `kf-drill-${randomBytes(4).toString('hex')}`;
      const secret = randomBytes(24).toString('base64url');
      await adminApi('POST', `${path}/clients`, {
        clientId,
        secret,
        enabled: true,
        publicClient: false,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
      });
      token = await clientToken(baseUrl, realm.realm, clientId, secret, signal);
    }
    const kid = tokenKid(token);
    if (kid) kids[realm.realm] = kid;
    if (!kid || !realm.kids.includes(kid))
      problems.push(`${realm.realm}: the token is signed with kid ${kid ?? '(none)'}, not one of the manifest's ${realm.kids.join(', ')}`);
  }
  const signed = Object.entries(kids).map(([realm, kid]) => `${realm} ${kid}`);
  if (problems.length > 0) return { name: 'token', ok: false, detail: problems.slice(0, 10).join('; ') };
  return {
    name: 'token',
    ok: true,
    detail: `drill clients obtained tokens in ${signed.length} realms, signed with the backed-up keys (${signed.join(', ')})${skipped.length ? `; disabled, not tried: ${skipped.join(', ')}` : ''}`,
  };
}
