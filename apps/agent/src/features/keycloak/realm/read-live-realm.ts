import type KeycloakAdminClient from '@keycloak/keycloak-admin-client';
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type ClientScopeRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js';
import type IdentityProviderRepresentation from '@keycloak/keycloak-admin-client/lib/defs/identityProviderRepresentation.js';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type RoleRepresentation from '@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js';
import type { GroupSpec, RealmSpec } from '@keyfleet/proto/v1';

export interface LiveGroup {
  id: string;
  /** Direct realm role mappings; read only for groups whose spec declares realmRoles. */
  realmRoles?: string[];
}

/** The live realm, as far as a spec declares it, keyed the way specs name things. */
export interface LiveRealm {
  rep: RealmRepresentation;
  clients: Map<string, ClientRepresentation>;
  clientScopes: Map<string, ClientScopeRepresentation>;
  roles: Map<string, RoleRepresentation>;
  /**
   * Keyed by path (/parent/child): every top-level group, and the children of each group whose
   * spec declares subGroups (the only places where the spec says which groups there are).
   */
  groups: Map<string, LiveGroup>;
  identityProviders: Map<string, IdentityProviderRepresentation>;
}

const PAGE = 100;

/** Reads the realm a spec describes; undefined when it does not exist. */
export async function readLiveRealm(kc: KeycloakAdminClient, spec: RealmSpec, signal?: AbortSignal): Promise<LiveRealm | undefined> {
  const realm = spec.realm;
  const rep = await kc.realms.findOne({ realm });
  if (!rep) return undefined;
  signal?.throwIfAborted();
  const [clients, clientScopes, roles, identityProviders] = await Promise.all([
    pageAll((first, max) => kc.clients.find({ realm, first, max })),
    kc.clientScopes.find({ realm }),
    pageAll((first, max) => kc.roles.find({ realm, first, max, briefRepresentation: false })),
    pageAll((first, max) => kc.identityProviders.find({ realm, first, max })),
  ]);
  signal?.throwIfAborted();
  const groups = new Map<string, LiveGroup>();
  if (spec.groups) {
    const top = await pageAll((first, max) => kc.groups.find({ realm, first, max, briefRepresentation: true }));
    await readGroups(kc, realm, '', top, spec.groups, groups, signal);
  }
  return {
    rep,
    clients: byKey(clients, (c) => c.clientId),
    clientScopes: byKey(clientScopes, (s) => s.name),
    roles: byKey(roles, (r) => r.name),
    groups,
    identityProviders: byKey(identityProviders, (i) => i.alias),
  };
}

async function readGroups(
  kc: KeycloakAdminClient,
  realm: string,
  parentPath: string,
  live: { id?: string; name?: string }[],
  specs: GroupSpec[] | undefined,
  out: Map<string, LiveGroup>,
  signal?: AbortSignal,
): Promise<void> {
  for (const group of live) {
    if (!group.id || group.name === undefined) continue;
    const path = `${parentPath}/${group.name}`;
    const spec = specs?.find((s) => s.name === group.name);
    signal?.throwIfAborted();
    const realmRoles = spec?.realmRoles ? (await kc.groups.listRealmRoleMappings({ realm, id: group.id })).map((r) => r.name ?? '') : undefined;
    out.set(path, { id: group.id, realmRoles });
    if (spec?.subGroups) {
      const id = group.id;
      const children = await pageAll((first, max) => kc.groups.listSubGroups({ realm, parentId: id, first, max, briefRepresentation: true }));
      await readGroups(kc, realm, path, children, spec.subGroups, out, signal);
    }
  }
}

/** Keycloak pages most lists (group children default to 10 per page), so read until a short page. */
async function pageAll<T>(page: (first: number, max: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  for (let first = 0; ; first += PAGE) {
    const items = await page(first, PAGE);
    all.push(...items);
    if (items.length < PAGE) return all;
  }
}

function byKey<T>(items: T[], key: (item: T) => string | undefined): Map<string, T> {
  return new Map(items.flatMap((item) => (key(item) === undefined ? [] : [[key(item)!, item] as const])));
}
