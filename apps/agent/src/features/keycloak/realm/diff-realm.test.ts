import { describe, expect, it } from 'vitest';
import { realmSpec, type RealmSpecInput } from '@keyfleet/proto/v1';
import { diffRealm } from './diff-realm.js';
import type { LiveRealm } from './read-live-realm.js';
import { FINGERPRINT_KEYS, fingerprintSecret } from './secret-fingerprint.js';

const spec = (input: Omit<RealmSpecInput, 'realm'>) => realmSpec.parse({ realm: 'app', ...input });

function live(parts: Partial<LiveRealm> = {}): LiveRealm {
  return {
    rep: { realm: 'app', enabled: true, displayName: 'App', passwordPolicy: 'length(12) and digits(1)', smtpServer: {} },
    clients: new Map(),
    clientScopes: new Map(),
    roles: new Map(),
    groups: new Map(),
    identityProviders: new Map(),
    ...parts,
  };
}

const confidential = (secret: string) => ({
  clientId: 'api',
  enabled: true,
  protocol: 'openid-connect',
  publicClient: false,
  secret,
  redirectUris: ['https://b.example.com/*', 'https://a.example.com/*'],
  webOrigins: [],
  standardFlowEnabled: true,
  directAccessGrantsEnabled: false,
  serviceAccountsEnabled: false,
});

describe('diffRealm', () => {
  it('compares only declared fields, and policies and URI lists regardless of order', () => {
    const s = spec({
      passwordPolicy: 'digits(1) and length(12)',
      clients: [{ clientId: 'api', secret: { $secret: 'api', value: 's1' }, redirectUris: ['https://a.example.com/*', 'https://b.example.com/*'] }],
    });
    expect(diffRealm(s, live({ clients: new Map([['api', confidential('s1')]]) }))).toEqual([]);
  });

  it('shows a differing client secret as *** only', () => {
    const s = spec({
      clients: [
        { clientId: 'api', secret: { $secret: 'api', value: 'new-secret-value' }, redirectUris: ['https://a.example.com/*', 'https://b.example.com/*'] },
      ],
    });
    const changes = diffRealm(s, live({ clients: new Map([['api', confidential('old-secret-value')]]) }));
    expect(changes).toEqual([{ resource: 'client', id: 'api', action: 'update', fields: [{ path: 'secret', from: '***', to: '***', note: 'changed' }] }]);
    expect(JSON.stringify(changes)).not.toMatch(/secret-value/);
  });

  it('checks a masked secret against the fingerprint stored beside it', () => {
    const s = spec({
      smtp: { host: 'smtp.example.com', port: 25, from: 'a@example.com', starttls: false, user: 'u', password: { $secret: 'smtp', value: 'pw-1' } },
    });
    const smtpServer = (fingerprint?: string) => ({
      host: 'smtp.example.com',
      port: '25',
      from: 'a@example.com',
      starttls: 'false',
      user: 'u',
      auth: 'true',
      password: '**********',
      ...(fingerprint && { [FINGERPRINT_KEYS.smtpPassword]: fingerprint }),
    });
    const withSmtp = (fingerprint?: string) => live({ rep: { realm: 'app', enabled: true, smtpServer: smtpServer(fingerprint) } });
    expect(diffRealm(s, withSmtp(fingerprintSecret('pw-1')))).toEqual([]);
    expect(diffRealm(s, withSmtp(fingerprintSecret('pw-0')))[0]?.fields).toEqual([{ path: 'password', from: '***', to: '***', note: 'changed' }]);
    expect(diffRealm(s, withSmtp(undefined))[0]?.fields?.[0]?.note).toMatch(/cannot be compared/);
  });

  it('deletes undeclared items of a declared kind but never Keycloak built-ins', () => {
    const role = (name: string) => [name, { name }] as const;
    const s = spec({ roles: [{ name: 'admin' }] });
    const l = live({ roles: new Map([role('admin'), role('old'), role('offline_access'), role('uma_authorization'), role('default-roles-app')]) });
    expect(diffRealm(s, l)).toEqual([{ resource: 'role', id: 'old', action: 'delete' }]);
    // An undeclared kind is left alone entirely.
    expect(diffRealm(spec({}), l)).toEqual([]);
  });

  it('deletes a group subtree once, and only below groups that declare their subgroups', () => {
    const group = (path: string) => [path, { id: path }] as const;
    const l = live({ groups: new Map([group('/keep'), group('/keep/old'), group('/gone')]) });
    expect(diffRealm(spec({ groups: [{ name: 'keep', subGroups: [] }] }), l)).toEqual([
      { resource: 'group', id: '/gone', action: 'delete' },
      { resource: 'group', id: '/keep/old', action: 'delete' },
    ]);
  });

  it('plans a missing realm as creates, in dependency order', () => {
    const s = spec({
      displayName: 'App',
      roles: [{ name: 'r' }],
      clientScopes: [{ name: 's' }],
      clients: [{ clientId: 'c', publicClient: true }],
      groups: [{ name: 'g', realmRoles: ['r'] }],
    });
    expect(diffRealm(s, undefined).map((c) => `${c.action} ${c.resource} ${c.id}`)).toEqual([
      'create realm app',
      'create clientScope s',
      'create role r',
      'create client c',
      'create group /g',
    ]);
    expect(diffRealm(s, undefined)[0]?.fields).toEqual([
      { path: 'displayName', from: null, to: 'App' },
      { path: 'enabled', from: null, to: true },
    ]);
  });
});
