import type KeycloakAdminClient from '@keycloak/keycloak-admin-client';
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type IdentityProviderRepresentation from '@keycloak/keycloak-admin-client/lib/defs/identityProviderRepresentation.js';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type { GroupSpec, RealmSpec } from '@keyfleet/proto/v1';
import { connectKeycloakAdmin, type KeycloakAdminCredentials } from './connect-keycloak-admin.js';
import { diffRealm, type RealmChange } from './diff-realm.js';
import { inspectRealm } from './inspect-realm.js';
import type { RealmDiff, RealmTaskOptions } from './plan-realm.js';
import { realmSettings } from './realm-settings.js';
import { readLiveRealm, type LiveRealm } from './read-live-realm.js';
import { FINGERPRINT_KEYS, fingerprintSecret } from './secret-fingerprint.js';
import { validateRealmSpec } from './validate-realm-spec.js';

type ClientSpec = NonNullable<RealmSpec['clients']>[number];
type IdpSpec = NonNullable<RealmSpec['identityProviders']>[number];

// Writes follow dependencies (scopes before the clients using them, roles before the groups
// mapping them); deletes run afterwards in the reverse order.
const WRITE_ORDER: RealmChange['resource'][] = ['realm', 'bruteForce', 'smtp', 'clientScope', 'role', 'client', 'group', 'identityProvider'];

/**
 * Makes the live realm match a spec (as sent, it is parsed here) and returns the plan it carried
 * out. The whole spec is validated against the server before the first write; afterwards the
 * realm is planned again, and anything still different fails the apply. Applying an applied spec
 * changes nothing and returns no changes.
 */
export async function applyRealm(creds: KeycloakAdminCredentials, input: unknown, opts: RealmTaskOptions = {}): Promise<RealmDiff> {
  const spec = validateRealmSpec(input);
  const { signal } = opts;
  const progress = opts.progress ?? (() => {});
  const kc = await connectKeycloakAdmin(creds, spec.realm, { signal });
  let live = await inspectRealm(kc, spec, signal);
  const planned = diffRealm(spec, live);
  if (planned.length === 0) return { realm: spec.realm, inSync: true, changes: [] };

  let ops = planned;
  if (!live) {
    progress(5, `creating realm ${spec.realm}`);
    await kc.realms.create(realmPayload(spec, undefined, true));
    live = await readLiveRealm(kc, spec, signal);
    if (!live) throw new Error(`realm "${spec.realm}" was created but cannot be read back`);
    // What remains is measured against what the new realm really holds (its built-ins included).
    ops = diffRealm(spec, live);
  }
  await writeChanges(kc, spec, live, ops, opts);

  progress(95, 'checking the realm against the spec');
  const remaining = diffRealm(spec, await readLiveRealm(kc, spec, signal));
  if (remaining.length > 0) {
    throw new Error(`realm "${spec.realm}" did not converge: after the apply these still differ from the spec: ${summarize(remaining)}`);
  }
  return { realm: spec.realm, inSync: true, changes: planned };
}

async function writeChanges(kc: KeycloakAdminClient, spec: RealmSpec, live: LiveRealm, ops: RealmChange[], opts: RealmTaskOptions): Promise<void> {
  const order = (c: RealmChange) => (c.action === 'delete' ? 2 * WRITE_ORDER.length - WRITE_ORDER.indexOf(c.resource) : WRITE_ORDER.indexOf(c.resource));
  const sorted = [...ops].sort((a, b) => order(a) - order(b));
  const touches = (c: RealmChange, path: string) => c.action === 'create' || Boolean(c.fields?.some((f) => f.path === path));
  // Read when first needed: the sort puts every scope and role write before the clients and groups using them.
  const scopeIds = once(async () => new Map((await kc.clientScopes.find()).map((s) => [s.name!, s.id!])));
  const roleRefs = once(async () => {
    const roles = await kc.roles.find({ first: 0, max: 100_000, briefRepresentation: true });
    return new Map(roles.map((r) => [r.name!, { id: r.id!, name: r.name! }]));
  });
  const groupIds = new Map([...live.groups].map(([path, g]) => [path, g.id]));
  const groupSpecs = flattenGroups(spec.groups);

  let realmWritten = false;
  for (const [i, op] of sorted.entries()) {
    opts.signal?.throwIfAborted();
    opts.progress?.(10 + Math.round((80 * i) / sorted.length), `${op.action} ${op.resource} ${op.id}`);
    switch (op.resource) {
      case 'realm':
      case 'bruteForce':
      case 'smtp': {
        // One update carries all realm-level settings.
        if (realmWritten) break;
        realmWritten = true;
        const smtpOp = sorted.find((c) => c.resource === 'smtp');
        await kc.realms.update({ realm: spec.realm }, realmPayload(spec, live.rep, smtpOp !== undefined && touches(smtpOp, 'password')));
        break;
      }
      case 'clientScope': {
        const current = live.clientScopes.get(op.id);
        if (op.action === 'delete') {
          await kc.clientScopes.del({ id: current!.id! });
          break;
        }
        const s = spec.clientScopes!.find((x) => x.name === op.id)!;
        const attributes = { ...(current?.attributes ?? {}), 'include.in.token.scope': String(s.includeInTokenScope) };
        const rep = { name: s.name, description: s.description ?? current?.description, protocol: s.protocol, attributes };
        if (current) await kc.clientScopes.update({ id: current.id! }, { ...current, protocolMappers: undefined, ...rep });
        else await kc.clientScopes.create(rep);
        break;
      }
      case 'role': {
        if (op.action === 'delete') {
          await kc.roles.delByName({ name: op.id });
          break;
        }
        const r = spec.roles!.find((x) => x.name === op.id)!;
        const current = live.roles.get(op.id);
        if (current) await kc.roles.updateByName({ name: op.id }, { ...current, description: r.description ?? current.description });
        else await kc.roles.create({ name: r.name, description: r.description });
        break;
      }
      case 'client': {
        const current = live.clients.get(op.id);
        if (op.action === 'delete') {
          await kc.clients.del({ id: current!.id! });
          break;
        }
        const c = spec.clients!.find((x) => x.clientId === op.id)!;
        if (!current) {
          // Keycloak takes the scope lists on create (else it attaches the realm's defaults), not on update.
          await kc.clients.create({ ...clientPayload(c), defaultClientScopes: c.defaultClientScopes, optionalClientScopes: c.optionalClientScopes });
          break;
        }
        const { defaultClientScopes: _d, optionalClientScopes: _o, ...rest } = current;
        await kc.clients.update({ id: current.id! }, { ...rest, ...clientPayload(c) });
        if (touches(op, 'defaultClientScopes') || touches(op, 'optionalClientScopes')) await syncClientScopes(kc, c, current, await scopeIds());
        break;
      }
      case 'group': {
        if (op.action === 'delete') {
          await kc.groups.del({ id: groupIds.get(op.id)! });
          break;
        }
        const g = groupSpecs.get(op.id)!;
        let id = groupIds.get(op.id);
        if (!id) {
          const parent = op.id.slice(0, op.id.lastIndexOf('/'));
          // Changes are sorted by path, so a new parent was created before its children.
          id = parent ? (await kc.groups.createChildGroup({ id: groupIds.get(parent)! }, { name: g.name })).id : (await kc.groups.create({ name: g.name })).id;
          groupIds.set(op.id, id);
        }
        if (g.realmRoles) await syncGroupRoles(kc, id, g.realmRoles, live.groups.get(op.id)?.realmRoles ?? [], await roleRefs());
        break;
      }
      case 'identityProvider': {
        const current = live.identityProviders.get(op.id);
        if (op.action === 'delete') {
          await kc.identityProviders.del({ alias: op.id });
          break;
        }
        const i = spec.identityProviders!.find((x) => x.alias === op.id)!;
        if (current && current.providerId === i.providerId) {
          await kc.identityProviders.update({ alias: op.id }, idpPayload(i, current, touches(op, 'clientSecret')));
          break;
        }
        // Keycloak cannot change a provider's type in place.
        if (current) await kc.identityProviders.del({ alias: op.id });
        await kc.identityProviders.create(idpPayload(i, undefined, true));
        break;
      }
    }
  }
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}

async function syncClientScopes(kc: KeycloakAdminClient, c: ClientSpec, current: ClientRepresentation, scopeIds: Map<string, string>): Promise<void> {
  const id = current.id!;
  const have = { default: new Set(current.defaultClientScopes ?? []), optional: new Set(current.optionalClientScopes ?? []) };
  const want = { default: c.defaultClientScopes, optional: c.optionalClientScopes };
  const del = { default: kc.clients.delDefaultClientScope, optional: kc.clients.delOptionalClientScope };
  const add = { default: kc.clients.addDefaultClientScope, optional: kc.clients.addOptionalClientScope };
  const kinds = ['default', 'optional'] as const;
  // Removals first, so a scope can move between the two lists: Keycloak links a scope to a client once.
  for (const kind of kinds) {
    const other = kind === 'default' ? 'optional' : 'default';
    for (const name of have[kind]) {
      const unwanted = want[kind] !== undefined && !want[kind].includes(name);
      if (unwanted || want[other]?.includes(name)) {
        await del[kind]({ id, clientScopeId: scopeIds.get(name)! });
        have[kind].delete(name);
      }
    }
  }
  for (const kind of kinds) {
    for (const name of want[kind] ?? []) if (!have[kind].has(name)) await add[kind]({ id, clientScopeId: scopeIds.get(name)! });
  }
}

async function syncGroupRoles(
  kc: KeycloakAdminClient,
  id: string,
  want: string[],
  have: string[],
  roles: Map<string, { id: string; name: string }>,
): Promise<void> {
  const add = want.filter((r) => !have.includes(r)).map((r) => roles.get(r)!);
  const remove = have.filter((r) => !want.includes(r)).map((r) => roles.get(r)!);
  if (add.length > 0) await kc.groups.addRealmRoleMappings({ id, roles: add });
  if (remove.length > 0) await kc.groups.delRealmRoleMappings({ id, roles: remove });
}

function realmPayload(spec: RealmSpec, current: RealmRepresentation | undefined, writeSmtpPassword: boolean): RealmRepresentation {
  const bf = spec.bruteForce;
  return {
    realm: spec.realm,
    ...realmSettings(spec),
    ...(bf && {
      bruteForceProtected: bf.enabled,
      failureFactor: bf.failureFactor,
      waitIncrementSeconds: bf.waitIncrementSeconds,
      maxFailureWaitSeconds: bf.maxFailureWaitSeconds,
      permanentLockout: bf.permanentLockout,
    }),
    ...(spec.smtp && { smtpServer: smtpPayload(spec.smtp, current?.smtpServer, writeSmtpPassword) }),
  };
}

function smtpPayload(smtp: NonNullable<RealmSpec['smtp']>, current: Record<string, string> | undefined, writePassword: boolean): Record<string, string> {
  // Starts from the live map: it keeps what the spec leaves out, and Keycloak keeps the stored
  // password when it gets its own mask back.
  const out: Record<string, string> = {
    ...(current ?? {}),
    host: smtp.host,
    port: String(smtp.port),
    from: smtp.from,
    starttls: String(smtp.starttls),
    ssl: String(smtp.ssl),
  };
  if (smtp.fromDisplayName !== undefined) out.fromDisplayName = smtp.fromDisplayName;
  if (smtp.user !== undefined) Object.assign(out, { user: smtp.user, auth: 'true' });
  if (smtp.password?.value !== undefined && writePassword) {
    Object.assign(out, { password: smtp.password.value, [FINGERPRINT_KEYS.smtpPassword]: fingerprintSecret(smtp.password.value) });
  }
  return out;
}

function clientPayload(c: ClientSpec): ClientRepresentation {
  return {
    clientId: c.clientId,
    name: c.name,
    enabled: c.enabled,
    protocol: c.protocol,
    publicClient: c.publicClient,
    secret: c.secret?.value,
    redirectUris: c.redirectUris,
    webOrigins: c.webOrigins,
    standardFlowEnabled: c.standardFlowEnabled,
    directAccessGrantsEnabled: c.directAccessGrantsEnabled,
    serviceAccountsEnabled: c.serviceAccountsEnabled,
  };
}

function idpPayload(i: IdpSpec, current: IdentityProviderRepresentation | undefined, writeSecret: boolean): IdentityProviderRepresentation {
  // The live config keeps what the spec leaves out, and the masked secret that Keycloak keeps as it is.
  const config: Record<string, string> = { ...(current?.config ?? {}), ...i.config };
  if (i.clientSecret?.value !== undefined && writeSecret) {
    Object.assign(config, { clientSecret: i.clientSecret.value, [FINGERPRINT_KEYS.idpClientSecret]: fingerprintSecret(i.clientSecret.value) });
  }
  return { ...(current ?? {}), alias: i.alias, providerId: i.providerId, enabled: i.enabled, displayName: i.displayName ?? current?.displayName, config };
}

function flattenGroups(groups: GroupSpec[] | undefined, parent = '', out = new Map<string, GroupSpec>()): Map<string, GroupSpec> {
  for (const g of groups ?? []) {
    out.set(`${parent}/${g.name}`, g);
    flattenGroups(g.subGroups, `${parent}/${g.name}`, out);
  }
  return out;
}

function summarize(changes: RealmChange[]): string {
  return changes.map((c) => `${c.action} ${c.resource} ${c.id}${c.fields?.length ? ` (${c.fields.map((f) => f.path).join(', ')})` : ''}`).join('; ');
}
