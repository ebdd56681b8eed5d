import { z } from 'zod';
import { realmSpec, type GroupSpec, type RealmSpec, type SecretRef } from '@keyfleet/proto/v1';
import { InvalidRealmSpecError } from './invalid-realm-spec-error.js';
import { isKeycloakBuiltin, keycloakBuiltins, type BuiltinKind } from './keycloak-builtins.js';
import { passwordPolicyTerms } from './password-policy.js';
import type { LiveRealm } from './read-live-realm.js';

/** What the target Keycloak offers, for the checks a spec's structure alone cannot settle. */
export interface RealmSpecContext {
  /** The live realm; undefined when the spec will create it. */
  live: LiveRealm | undefined;
  /** Password policy ids the server knows (from serverInfo); checked when given. */
  passwordPolicies?: string[];
  /** Identity provider ids the server knows (from serverInfo); checked when given. */
  identityProviderTypes?: string[];
}

/**
 * Parses a realm spec and checks that it can be applied as written, reporting every problem at
 * once as an InvalidRealmSpecError. Without `context` only the checks that need no Keycloak run
 * (structure, secrets carrying values); with it also the references to roles and client scopes,
 * which must be declared in the spec or exist in the realm and survive the apply.
 */
export function validateRealmSpec(input: unknown, context?: RealmSpecContext): RealmSpec {
  const parsed = realmSpec.safeParse(input);
  if (!parsed.success) throw new InvalidRealmSpecError([z.prettifyError(parsed.error)]);
  const spec = parsed.data;
  const problems: string[] = [];

  const needValue = (ref: SecretRef | undefined, where: string) => {
    if (ref && ref.value === undefined) {
      problems.push(`${where}: secret "${ref.$secret}" has no value (the hub fills it in from its secret store: is it defined there?)`);
    }
  };
  for (const c of spec.clients ?? []) needValue(c.secret, `client "${c.clientId}" secret`);
  needValue(spec.smtp?.password, 'smtp password');
  for (const i of spec.identityProviders ?? []) needValue(i.clientSecret, `identity provider "${i.alias}" clientSecret`);

  if (context) {
    const roles = available(
      spec,
      context.live,
      'role',
      spec.roles?.map((r) => r.name),
      context.live?.roles,
    );
    const scopes = available(
      spec,
      context.live,
      'clientScope',
      spec.clientScopes?.map((s) => s.name),
      context.live?.clientScopes,
    );
    const walk = (groups: GroupSpec[] | undefined, parent: string) =>
      groups?.forEach((g) => {
        for (const role of g.realmRoles ?? []) {
          if (!roles.has(role))
            problems.push(
              `group "${parent}/${g.name}" maps realm role "${role}", which is neither in the spec's roles nor ${where(spec, context.live, 'role')}`,
            );
        }
        walk(g.subGroups, `${parent}/${g.name}`);
      });
    walk(spec.groups, '');
    for (const c of spec.clients ?? []) {
      for (const scope of [...(c.defaultClientScopes ?? []), ...(c.optionalClientScopes ?? [])]) {
        if (!scopes.has(scope)) {
          problems.push(
            `client "${c.clientId}" uses client scope "${scope}", which is neither in the spec's clientScopes nor ${where(spec, context.live, 'clientScope')}`,
          );
        }
      }
    }
    if (spec.passwordPolicy !== undefined && context.passwordPolicies) {
      for (const term of passwordPolicyTerms(spec.passwordPolicy)) {
        const id = /^([A-Za-z]+)(\(.*\))?$/.exec(term)?.[1];
        if (!id) problems.push(`passwordPolicy: "${term}" is not of the form name or name(value)`);
        else if (!context.passwordPolicies.includes(id)) {
          problems.push(`passwordPolicy: unknown policy "${id}" (this Keycloak knows ${[...context.passwordPolicies].sort().join(', ')})`);
        }
      }
    }
    if (context.identityProviderTypes) {
      for (const idp of spec.identityProviders ?? []) {
        if (!context.identityProviderTypes.includes(idp.providerId)) {
          problems.push(
            `identity provider "${idp.alias}": unknown providerId "${idp.providerId}" (this Keycloak knows ${[...context.identityProviderTypes].sort().join(', ')})`,
          );
        }
      }
    }
  }
  if (problems.length > 0) throw new InvalidRealmSpecError(problems);
  return spec;
}

/**
 * Names of a kind that will exist after the apply: a declared list replaces the live non-built-in
 * items, an undeclared one leaves them; built-ins stay either way (as the live realm has them, or
 * as a new realm gets them).
 */
function available(
  spec: RealmSpec,
  live: LiveRealm | undefined,
  kind: BuiltinKind,
  declared: string[] | undefined,
  liveItems: Map<string, unknown> | undefined,
): Set<string> {
  const liveNames = live ? [...(liveItems?.keys() ?? [])] : keycloakBuiltins(kind, spec.realm);
  const kept = declared ? liveNames.filter((n) => isKeycloakBuiltin(kind, spec.realm, n)) : liveNames;
  return new Set([...kept, ...(declared ?? [])]);
}

function where(spec: RealmSpec, live: LiveRealm | undefined, kind: BuiltinKind): string {
  const declared = kind === 'role' ? spec.roles : spec.clientScopes;
  if (!live) return 'one Keycloak creates in a new realm';
  return declared ? 'a Keycloak built-in of the realm' : `in realm "${spec.realm}"`;
}
