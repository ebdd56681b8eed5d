import type KeycloakAdminClient from '@keycloak/keycloak-admin-client';
import type { RealmSpec } from '@keyfleet/proto/v1';
import { readLiveRealm, type LiveRealm } from './read-live-realm.js';
import { validateRealmSpec } from './validate-realm-spec.js';

/**
 * Reads the live realm a spec describes and checks the spec against it and the server's
 * providers, so a spec that cannot be applied fails before anything is written.
 */
export async function inspectRealm(kc: KeycloakAdminClient, spec: RealmSpec, signal?: AbortSignal): Promise<LiveRealm | undefined> {
  const live = await readLiveRealm(kc, spec, signal);
  // serverInfo is large; fetch it only when the spec names policies or provider types.
  const info = spec.passwordPolicy !== undefined || spec.identityProviders?.length ? await kc.serverInfo.find() : undefined;
  validateRealmSpec(spec, {
    live,
    passwordPolicies: info?.passwordPolicies?.flatMap((p) => (p.id ? [p.id] : [])),
    identityProviderTypes: info && [...(info.identityProviders ?? []), ...(info.socialProviders ?? [])].flatMap((p) => (p.id ? [p.id] : [])),
  });
  return live;
}
