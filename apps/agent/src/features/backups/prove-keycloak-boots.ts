import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupManifest } from '@keyfleet/proto/v1';
import { TaskFailure } from '../../task-failure.js';
import { DrillHomeFiles } from './drill-home-files.js';
import { drillKeycloakHome } from './drill-keycloak-home.js';
import { realmExport, type RealmExported, type RealmExportOptions } from './realm-export.js';
import { ScratchKeycloak } from './scratch-keycloak.js';
import { tokenKid } from './token-kid.js';

export interface KeycloakProofOptions {
  stateDir: string;
  manifest: BackupManifest;
  /** The restored scratch database. */
  db: { url: string; username: string; password: string };
  /** When the drill began (its download): the RTO is counted from there. */
  since: number;
  /** The backup's providers and themes, staged for the scratch home. */
  files?: DrillHomeFiles;
  /** A realm export to make once tokens are proven (the byproduct asked for with the drill). */
  export?: Pick<RealmExportOptions, 'request' | 'hubUrl'>;
  signal: AbortSignal;
  progress(percent: number, message: string): void;
}

export interface KeycloakProof {
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  /** Until the scratch Keycloak answered ready; undefined when it did not. */
  readyMs?: number;
  /** From `since` until every realm's token was proven (the RTO; an export after it does not count); undefined when not. */
  rtoMs?: number;
  /** Per realm, the `kid` that signed the drill client's token. */
  tokenKids: Record<string, string>;
  /** The realm export, when one was asked for: stored, or why not. */
  exported?: ({ ok: true } & RealmExported) | { ok: false; error: string };
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
  const backupFiles = opts.files ? { files: opts.files, key: DrillHomeFiles.key(manifest) } : undefined;
  const { home, javaHome } = await drillKeycloakHome(opts.stateDir, manifest.keycloak, signal, backupFiles).catch((err: Error) => {
    throw new TaskFailure('invalid_input', `cannot boot a scratch Keycloak on this drill host: ${err.message}`);
  });
  try {
    // A fresh data dir per drill (temp files, transaction logs): nothing of an earlier drill is recovered.
    data = join(home, 'data');
    await rm(data, { recursive: true, force: true });
    await mkdir(data, { mode: 0o700 });
    opts.progress(65, `starting a scratch Keycloak ${version} on the restored database (loopback only)`);
    keycloak = await ScratchKeycloak.start({
      home,
      javaHome,
      db: opts.db,
      stateDir: opts.stateDir,
      signal,
      note: (why) => opts.progress(65, `scratch Keycloak: ${why}`),
    });
    checks.push({
      name: 'keycloak',
      ok: true,
      detail: `Keycloak ${version} started on the restored database, ready in ${(keycloak.readyMs / 1000).toFixed(1)}s (loopback only)`,
    });
    opts.progress(85, 'scratch Keycloak ready; obtaining tokens with drill clients');
  } catch (err) {
    checks.push({ name: 'keycloak', ok: false, detail: `no scratch Keycloak ${version}: ${(err as Error).message.slice(0, 1500)}` });
  }
  const created: DrillClient[] = [];
  let exported: KeycloakProof['exported'];
  let rtoMs: number | undefined;
  try {
    if (keycloak) {
      const check = await tokens(keycloak, manifest, tokenKids, created, signal);
      // In the check's words too: the hub records the checks of each drill with its backup.
      if (check.ok) {
        rtoMs = Date.now() - opts.since;
        check.detail += `; RTO ${(rtoMs / 1000).toFixed(1)}s from the download to tokens`;
      }
      checks.push(check);
    }
  } catch (err) {
    checks.push({ name: 'token', ok: false, detail: (err as Error).message.slice(0, 1500) });
  }
  try {
    if (opts.export && keycloak && checks.every((c) => c.ok)) {
      // The export is of the backup, not of the drill: the drill's clients go before it is made.
      await removeDrillClients(keycloak, created, signal);
      opts.progress(95, 'stopping the scratch Keycloak; exporting the realms (kc.sh export)');
      await keycloak.stop();
      const made = await realmExport({ home, javaHome, db: opts.db, workDir: join(opts.stateDir, 'backups'), signal, ...opts.export });
      exported = { ok: true, ...made };
    } else if (opts.export) {
      exported = { ok: false, error: 'not exported: the drill did not prove tokens' };
    }
  } catch (err) {
    exported = { ok: false, error: (err as Error).message.slice(0, 1500) };
  } finally {
    opts.progress(95, 'stopping the scratch Keycloak');
    await keycloak?.stop();
    if (data) await rm(data, { recursive: true, force: true });
  }
  return { checks, readyMs: keycloak?.readyMs, rtoMs, tokenKids, ...(exported ? { exported } : {}) };
}

/** A client a drill made in the scratch copy. */
interface DrillClient {
  realm: string;
  clientId: string;
}

/** Deletes the drill clients, the bootstrap service client last (its token authorises the deletes). */
async function removeDrillClients(keycloak: ScratchKeycloak, created: DrillClient[], signal: AbortSignal): Promise<void> {
  const { baseUrl, admin } = keycloak;
  const token = await clientToken(baseUrl, 'master', admin.clientId, admin.secret, signal);
  for (const { realm, clientId } of [...created, { realm: 'master', clientId: admin.clientId }]) {
    const path = `${baseUrl}/admin/realms/${encodeURIComponent(realm)}/clients`;
    const headers = { authorization: `Bearer ${token}` };
    const found = await fetch(`${path}?clientId=${encodeURIComponent(clientId)}`, { headers, signal });
    const [client] = found.ok ? ((await found.json()) as Array<{ id: string }>) : [];
    if (!client) throw new Error(`cannot find the drill client ${clientId} of realm ${realm} to remove it: HTTP ${found.status}`);
    const res = await fetch(`${path}/${client.id}`, { method: 'DELETE', headers, signal });
    if (!res.ok) throw new Error(`cannot remove the drill client ${clientId} of realm ${realm}: HTTP ${res.status}`);
  }
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
async function tokens(keycloak: ScratchKeycloak, manifest: BackupManifest, kids: Record<string, string>, created: DrillClient[], signal: AbortSignal) {
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
      created.push({ realm: realm.realm, clientId });
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
