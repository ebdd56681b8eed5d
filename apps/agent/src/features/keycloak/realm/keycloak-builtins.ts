/**
 * What Keycloak 26 creates in every new realm (read from a freshly created realm; the
 * keycloak-builtins test checks the list against a live one). A realm spec never deletes these,
 * even when its list of that kind leaves them out.
 */
const CLIENTS = ['account', 'account-console', 'admin-cli', 'broker', 'realm-management', 'security-admin-console'];
const ROLES = ['offline_access', 'uma_authorization'];
const CLIENT_SCOPES = [
  'AuthnContextClassRef',
  'acr',
  'address',
  'basic',
  'email',
  'microprofile-jwt',
  'offline_access',
  'organization',
  'phone',
  'profile',
  'role_list',
  'roles',
  'saml_organization',
  'service_account',
  'web-origins',
];
// The master realm holds the admin roles and one "<realm>-realm" client per realm instead of realm-management.
const MASTER_ROLES = ['admin', 'create-realm'];

export type BuiltinKind = 'client' | 'role' | 'clientScope';

/** The built-ins of one kind as a fresh realm named `realm` has them (for the cross-reference checks of a realm to be created). */
export function keycloakBuiltins(kind: BuiltinKind, realm: string): string[] {
  switch (kind) {
    case 'client':
      return realm === 'master' ? CLIENTS.filter((c) => c !== 'realm-management').concat('master-realm') : CLIENTS;
    case 'role':
      return [...ROLES, `default-roles-${realm.toLowerCase()}`, ...(realm === 'master' ? MASTER_ROLES : [])];
    case 'clientScope':
      return CLIENT_SCOPES;
  }
}

/** True for an item Keycloak made itself and a spec must leave in place. */
export function isKeycloakBuiltin(kind: BuiltinKind, realm: string, name: string): boolean {
  if (kind === 'client' && realm === 'master' && name.endsWith('-realm')) return true;
  return keycloakBuiltins(kind, realm).includes(name);
}
