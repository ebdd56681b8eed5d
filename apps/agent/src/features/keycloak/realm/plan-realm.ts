import { connectKeycloakAdmin, type KeycloakAdminCredentials } from './connect-keycloak-admin.js';
import { diffRealm, type RealmChange } from './diff-realm.js';
import { inspectRealm } from './inspect-realm.js';
import { validateRealmSpec } from './validate-realm-spec.js';

/** The result of keycloak.realm.plan and keycloak.realm.apply. */
export interface RealmDiff {
  realm: string;
  inSync: boolean;
  changes: RealmChange[];
}

export interface RealmTaskOptions {
  signal?: AbortSignal;
  progress?: (percent: number, message: string) => void;
}

/**
 * Compares a realm spec (as sent, it is parsed here) with the live realm without changing
 * anything. An empty plan means in sync. Throws InvalidRealmSpecError for a spec that could not
 * be applied.
 */
export async function planRealm(creds: KeycloakAdminCredentials, input: unknown, opts: RealmTaskOptions = {}): Promise<RealmDiff> {
  const spec = validateRealmSpec(input);
  const kc = await connectKeycloakAdmin(creds, spec.realm, { signal: opts.signal });
  const changes = diffRealm(spec, await inspectRealm(kc, spec, opts.signal));
  return { realm: spec.realm, inSync: changes.length === 0, changes };
}
