import type { RealmSpec } from '@keyfleet/proto/v1';

/** The plain realm settings a spec manages, as the admin API names them; diff and apply both read this one list. */
export function realmSettings(spec: RealmSpec) {
  return {
    enabled: spec.enabled,
    displayName: spec.displayName,
    loginWithEmailAllowed: spec.loginWithEmailAllowed,
    registrationAllowed: spec.registrationAllowed,
    sslRequired: spec.sslRequired,
    accessTokenLifespan: spec.accessTokenLifespan,
    ssoSessionIdleTimeout: spec.ssoSessionIdleTimeout,
    passwordPolicy: spec.passwordPolicy,
  };
}
