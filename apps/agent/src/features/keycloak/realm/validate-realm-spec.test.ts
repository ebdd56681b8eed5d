import { describe, expect, it } from 'vitest';
import { InvalidRealmSpecError } from './invalid-realm-spec-error.js';
import type { LiveRealm } from './read-live-realm.js';
import { validateRealmSpec, type RealmSpecContext } from './validate-realm-spec.js';

const problemsOf = (input: unknown, context?: RealmSpecContext): string => {
  try {
    validateRealmSpec(input, context);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRealmSpecError);
    expect((err as InvalidRealmSpecError).code).toBe('invalid_input');
    return (err as Error).message;
  }
  throw new Error('the spec was accepted');
};

const liveWithRoles = (...names: string[]): LiveRealm => ({
  rep: { realm: 'app' },
  clients: new Map(),
  clientScopes: new Map(),
  roles: new Map(names.map((name) => [name, { name }])),
  groups: new Map(),
  identityProviders: new Map(),
});

describe('validateRealmSpec', () => {
  it('names unknown fields, bad redirect URIs and origins, and a missing realm', () => {
    expect(problemsOf({ realm: 'app', colour: 'blue' })).toMatch(/Unrecognized key: "colour"/);
    expect(problemsOf({ realm: 'app', clients: [{ clientId: 'c', redirectUris: ['javascript:alert(1)'] }] })).toMatch(/at clients\[0\]\.redirectUris\[0\]/);
    expect(problemsOf({ realm: 'app', clients: [{ clientId: 'c', redirectUris: ['https://a.example.com/#x'] }] })).toMatch(/#fragment/);
    expect(problemsOf({ realm: 'app', clients: [{ clientId: 'c', webOrigins: ['https://a.example.com/app'] }] })).toMatch(/at clients\[0\]\.webOrigins\[0\]/);
    expect(problemsOf({ clients: [] })).toMatch(/at realm/);
  });

  it('refuses contradictions Keycloak would silently drop', () => {
    const msg = problemsOf({
      realm: 'app',
      clients: [
        { clientId: 'c', publicClient: true, secret: { $secret: 'c', value: 'v' } },
        { clientId: 'c', defaultClientScopes: ['email'], optionalClientScopes: ['email'] },
      ],
      groups: [{ name: 'a/b' }],
      identityProviders: [{ alias: 'x', providerId: 'oidc', config: { clientSecret: 'plain' } }],
    });
    expect(msg).toMatch(/a public client has no secret/);
    expect(msg).toMatch(/duplicate clientId "c"/);
    expect(msg).toMatch(/"email" cannot be both default and optional/);
    expect(msg).toMatch(/group names cannot contain \//);
    expect(msg).toMatch(/set the client secret with clientSecret/);
  });

  it('names a secret reference the hub did not fill in, without needing Keycloak', () => {
    expect(problemsOf({ realm: 'app', clients: [{ clientId: 'api', secret: { $secret: 'api-secret' } }] })).toMatch(
      /client "api" secret: secret "api-secret" has no value/,
    );
  });

  it('accepts roles from the spec, the live realm or the built-ins of a new realm', () => {
    const groups = [{ name: 'g', realmRoles: ['offline_access', 'default-roles-app'] }];
    expect(validateRealmSpec({ realm: 'app', groups }, { live: undefined }).groups).toHaveLength(1);
    expect(validateRealmSpec({ realm: 'app', groups: [{ name: 'g', realmRoles: ['legacy'] }] }, { live: liveWithRoles('legacy') })).toBeTruthy();
  });

  it('refuses a role that will not exist: unknown, or live but dropped by the declared roles', () => {
    expect(problemsOf({ realm: 'app', groups: [{ name: 'g', realmRoles: ['ghost'] }] }, { live: undefined })).toMatch(/group "\/g" maps realm role "ghost"/);
    const dropped = { realm: 'app', roles: [{ name: 'new' }], groups: [{ name: 'g', realmRoles: ['legacy'] }] };
    expect(problemsOf(dropped, { live: liveWithRoles('legacy') })).toMatch(/"legacy", which is neither in the spec's roles nor a Keycloak built-in/);
  });

  it('checks password policies and provider types against what the server offers', () => {
    const msg = problemsOf(
      { realm: 'app', passwordPolicy: 'length(12) and sparkles(3)', identityProviders: [{ alias: 'x', providerId: 'myspace' }] },
      { live: undefined, passwordPolicies: ['length', 'digits'], identityProviderTypes: ['oidc', 'saml'] },
    );
    expect(msg).toMatch(/unknown policy "sparkles"/);
    expect(msg).toMatch(/identity provider "x": unknown providerId "myspace"/);
  });
});
