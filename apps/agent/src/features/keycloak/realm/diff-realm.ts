import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type ClientScopeRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js';
import type IdentityProviderRepresentation from '@keycloak/keycloak-admin-client/lib/defs/identityProviderRepresentation.js';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type { GroupSpec, RealmSpec, SecretRef, realmChange } from '@keyfleet/proto/v1';
import { isKeycloakBuiltin, type BuiltinKind } from './keycloak-builtins.js';
import { passwordPolicyTerms } from './password-policy.js';
import type { LiveRealm } from './read-live-realm.js';
import { realmSettings } from './realm-settings.js';
import { FINGERPRINT_KEYS, fingerprintMatches } from './secret-fingerprint.js';

export type RealmChange = z.infer<typeof realmChange>;
type FieldChange = NonNullable<RealmChange['fields']>[number];
type Fields = Record<string, unknown>;

/** A secret the spec wants; compared, never shown. */
class DesiredSecret {
  constructor(readonly value: string) {}
}
/** A secret as Keycloak shows it: in clear (client secrets), masked (with our fingerprint if we set it) or not set. */
type LiveSecret = { state: 'absent' } | { state: 'clear'; value: string } | { state: 'masked'; fingerprint: string | undefined };

const MASK = '***';
const KEYCLOAK_MASK = '**********';
const RESOURCE_ORDER: RealmChange['resource'][] = ['realm', 'bruteForce', 'smtp', 'clientScope', 'role', 'client', 'group', 'identityProvider'];

/**
 * What applying `spec` would change in `live` (undefined: the realm does not exist), in
 * dependency order. Only declared fields and declared kinds are compared; Keycloak's built-ins are
 * never deleted; set-like lists are compared as sets; secrets appear only as `***`.
 */
export function diffRealm(spec: RealmSpec, live: LiveRealm | undefined): RealmChange[] {
  const realm = spec.realm;
  const changes: RealmChange[] = [];
  const single = (resource: RealmChange['resource'], desired: Fields | undefined, current: Fields | undefined, exists: boolean) => {
    if (!desired) return;
    if (!exists || !current) return void changes.push({ resource, id: realm, action: 'create', fields: created(desired) });
    const fields = compare(desired, current);
    if (fields.length > 0) changes.push({ resource, id: realm, action: 'update', fields });
  };
  single('realm', realmFields(spec), live && liveRealmFields(live.rep), live !== undefined);
  single('bruteForce', spec.bruteForce && bruteForceFields(spec.bruteForce), live && liveBruteForceFields(live.rep), live !== undefined);
  single('smtp', spec.smtp && smtpFields(spec.smtp), live && liveSmtpFields(live.rep), Boolean(live?.rep.smtpServer?.host));

  const items = <S>(
    resource: RealmChange['resource'],
    builtin: BuiltinKind | undefined,
    specs: S[] | undefined,
    idOf: (s: S) => string,
    desired: (s: S) => Fields,
    liveItems: Map<string, Fields> | undefined,
  ) => {
    if (!specs) return;
    const wanted = new Set(specs.map(idOf));
    for (const s of specs) {
      const current = liveItems?.get(idOf(s));
      if (!current) changes.push({ resource, id: idOf(s), action: 'create', fields: created(desired(s)) });
      else {
        const fields = compare(desired(s), current);
        if (fields.length > 0) changes.push({ resource, id: idOf(s), action: 'update', fields });
      }
    }
    for (const id of liveItems?.keys() ?? []) {
      if (!wanted.has(id) && !(builtin && isKeycloakBuiltin(builtin, realm, id))) changes.push({ resource, id, action: 'delete' });
    }
  };
  const liveMap = <T>(map: Map<string, T> | undefined, fields: (t: T) => Fields) => map && new Map([...map].map(([id, item]) => [id, fields(item)] as const));

  items('clientScope', 'clientScope', spec.clientScopes, (s) => s.name, clientScopeFields, liveMap(live?.clientScopes, liveClientScopeFields));
  items(
    'role',
    'role',
    spec.roles,
    (r) => r.name,
    (r) => defined({ description: r.description }),
    liveMap(live?.roles, (r) => ({ description: r.description ?? null })),
  );
  items('client', 'client', spec.clients, (c) => c.clientId, clientFields, liveMap(live?.clients, liveClientFields));
  diffGroups(spec.groups, live, changes);
  items('identityProvider', undefined, spec.identityProviders, (i) => i.alias, idpFields, liveMap(live?.identityProviders, liveIdpFields));

  return changes.sort((a, b) => RESOURCE_ORDER.indexOf(a.resource) - RESOURCE_ORDER.indexOf(b.resource) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Groups are identified by path; a group missing from the spec is deleted with its subtree, reported once. */
function diffGroups(groups: GroupSpec[] | undefined, live: LiveRealm | undefined, changes: RealmChange[]): void {
  if (!groups) return;
  const wanted = new Map<string, GroupSpec>();
  const walk = (list: GroupSpec[], parent: string) => {
    for (const g of list) {
      wanted.set(`${parent}/${g.name}`, g);
      walk(g.subGroups ?? [], `${parent}/${g.name}`);
    }
  };
  walk(groups, '');
  for (const [path, g] of wanted) {
    const current = live?.groups.get(path);
    const desired = defined({ realmRoles: g.realmRoles && set(g.realmRoles) });
    if (!current) changes.push({ resource: 'group', id: path, action: 'create', fields: created(desired) });
    else {
      const fields = compare(desired, { realmRoles: set(current.realmRoles ?? []) });
      if (fields.length > 0) changes.push({ resource: 'group', id: path, action: 'update', fields });
    }
  }
  // Children are read only below groups whose spec declares subGroups, so every unwanted path here is in scope.
  for (const path of live?.groups.keys() ?? []) {
    if (!wanted.has(path)) changes.push({ resource: 'group', id: path, action: 'delete' });
  }
}

function realmFields(spec: RealmSpec): Fields {
  return defined({
    ...realmSettings(spec),
    // Compared term by term, in a normal order: Keycloak may list the policy differently.
    passwordPolicy: spec.passwordPolicy === undefined ? undefined : passwordPolicyTerms(spec.passwordPolicy).join(' and '),
  });
}

function liveRealmFields(rep: RealmRepresentation): Fields {
  return {
    enabled: rep.enabled ?? null,
    displayName: rep.displayName ?? null,
    loginWithEmailAllowed: rep.loginWithEmailAllowed ?? null,
    registrationAllowed: rep.registrationAllowed ?? null,
    sslRequired: rep.sslRequired ?? null,
    accessTokenLifespan: rep.accessTokenLifespan ?? null,
    ssoSessionIdleTimeout: rep.ssoSessionIdleTimeout ?? null,
    passwordPolicy: passwordPolicyTerms(rep.passwordPolicy).join(' and '),
  };
}

function bruteForceFields(bf: NonNullable<RealmSpec['bruteForce']>): Fields {
  return defined({ ...bf });
}

function liveBruteForceFields(rep: RealmRepresentation): Fields {
  return {
    enabled: rep.bruteForceProtected ?? false,
    failureFactor: rep.failureFactor ?? null,
    waitIncrementSeconds: rep.waitIncrementSeconds ?? null,
    maxFailureWaitSeconds: rep.maxFailureWaitSeconds ?? null,
    permanentLockout: rep.permanentLockout ?? null,
  };
}

function smtpFields(smtp: NonNullable<RealmSpec['smtp']>): Fields {
  return defined({ ...smtp, password: smtp.password && new DesiredSecret(secretValue(smtp.password)) });
}

function liveSmtpFields(rep: RealmRepresentation): Fields {
  const s = (rep.smtpServer ?? {}) as Record<string, string | undefined>;
  return {
    host: s.host ?? null,
    port: s.port ? Number(s.port) : null,
    from: s.from ?? null,
    fromDisplayName: s.fromDisplayName ?? null,
    starttls: s.starttls === 'true',
    ssl: s.ssl === 'true',
    user: s.user ?? null,
    password: liveSecret(s.password, s[FINGERPRINT_KEYS.smtpPassword]),
  };
}

function clientScopeFields(s: NonNullable<RealmSpec['clientScopes']>[number]): Fields {
  return defined({ description: s.description, protocol: s.protocol, includeInTokenScope: s.includeInTokenScope });
}

function liveClientScopeFields(rep: ClientScopeRepresentation): Fields {
  return {
    description: rep.description ?? null,
    protocol: rep.protocol ?? null,
    includeInTokenScope: (rep.attributes as Record<string, string> | undefined)?.['include.in.token.scope'] === 'true',
  };
}

function clientFields(c: NonNullable<RealmSpec['clients']>[number]): Fields {
  return defined({
    name: c.name,
    enabled: c.enabled,
    protocol: c.protocol,
    publicClient: c.publicClient,
    secret: c.secret && new DesiredSecret(secretValue(c.secret)),
    redirectUris: set(c.redirectUris),
    webOrigins: set(c.webOrigins),
    standardFlowEnabled: c.standardFlowEnabled,
    directAccessGrantsEnabled: c.directAccessGrantsEnabled,
    serviceAccountsEnabled: c.serviceAccountsEnabled,
    defaultClientScopes: c.defaultClientScopes && set(c.defaultClientScopes),
    optionalClientScopes: c.optionalClientScopes && set(c.optionalClientScopes),
  });
}

function liveClientFields(rep: ClientRepresentation): Fields {
  return {
    name: rep.name ?? null,
    enabled: rep.enabled ?? null,
    protocol: rep.protocol ?? null,
    publicClient: rep.publicClient ?? null,
    secret: rep.publicClient ? { state: 'absent' } : liveSecret(rep.secret, undefined),
    redirectUris: set(rep.redirectUris ?? []),
    webOrigins: set(rep.webOrigins ?? []),
    standardFlowEnabled: rep.standardFlowEnabled ?? null,
    directAccessGrantsEnabled: rep.directAccessGrantsEnabled ?? null,
    serviceAccountsEnabled: rep.serviceAccountsEnabled ?? null,
    defaultClientScopes: set(rep.defaultClientScopes ?? []),
    optionalClientScopes: set(rep.optionalClientScopes ?? []),
  };
}

function idpFields(i: NonNullable<RealmSpec['identityProviders']>[number]): Fields {
  return defined({
    providerId: i.providerId,
    enabled: i.enabled,
    displayName: i.displayName,
    ...Object.fromEntries(Object.entries(i.config).map(([k, v]) => [`config.${k}`, v])),
    clientSecret: i.clientSecret && new DesiredSecret(secretValue(i.clientSecret)),
  });
}

function liveIdpFields(rep: IdentityProviderRepresentation): Fields {
  const config = (rep.config ?? {}) as Record<string, string | undefined>;
  return {
    providerId: rep.providerId ?? null,
    enabled: rep.enabled ?? null,
    displayName: rep.displayName ?? null,
    ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`config.${k}`, v ?? null])),
    clientSecret: liveSecret(config.clientSecret, config[FINGERPRINT_KEYS.idpClientSecret]),
  };
}

function liveSecret(value: string | undefined, fingerprint: string | undefined): LiveSecret {
  if (!value) return { state: 'absent' };
  return value === KEYCLOAK_MASK ? { state: 'masked', fingerprint } : { state: 'clear', value };
}

function compare(desired: Fields, live: Fields): FieldChange[] {
  return Object.keys(desired)
    .sort()
    .flatMap((path): FieldChange[] => {
      const to = desired[path];
      const from = live[path] ?? null;
      if (to instanceof DesiredSecret) return secretChange(path, to.value, from as LiveSecret | null);
      return isDeepStrictEqual(to, from) ? [] : [{ path, from, to }];
    });
}

function secretChange(path: string, value: string, live: LiveSecret | null): FieldChange[] {
  if (!live || live.state === 'absent') return [{ path, from: null, to: MASK, note: 'set' }];
  if (live.state === 'clear') return live.value === value ? [] : [{ path, from: MASK, to: MASK, note: 'changed' }];
  if (fingerprintMatches(value, live.fingerprint)) return [];
  const note = live.fingerprint ? 'changed' : 'Keycloak masks this secret and it was not set by keyfleet, so it cannot be compared';
  return [{ path, from: MASK, to: MASK, note }];
}

function created(desired: Fields): FieldChange[] {
  return Object.keys(desired)
    .sort()
    .map((path) => {
      const to = desired[path];
      return to instanceof DesiredSecret ? { path, from: null, to: MASK, note: 'set' } : { path, from: null, to };
    });
}

/** Keycloak keeps URI lists, scope lists and role lists in no stable order. */
function set(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function defined(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

function secretValue(ref: SecretRef): string {
  // validateRealmSpec rejects a reference without a value before any diff is made.
  if (ref.value === undefined) throw new Error(`secret "${ref.$secret}" has no value`);
  return ref.value;
}
