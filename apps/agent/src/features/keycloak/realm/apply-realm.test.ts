import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskDefinitions, type RealmSpecInput } from '@keyfleet/proto/v1';
import { startKeycloak, type KeycloakServer } from '@keyfleet/test-harness';
import { saveInstance, type KeycloakInstanceRecord } from '../instance/instance-store.js';
import { keycloakRealmPlan } from '../tasks/keycloak-realm.js';
import { applyRealm } from './apply-realm.js';
import { connectKeycloakAdmin, type KeycloakAdminCredentials } from './connect-keycloak-admin.js';
import { InvalidRealmSpecError } from './invalid-realm-spec-error.js';
import { keycloakBuiltins } from './keycloak-builtins.js';
import { planRealm } from './plan-realm.js';
import { testTaskContext } from '../../../testing/test-task-context.js';

// Unique per run, so the file also runs against a shared server (KEYFLEET_TEST_KEYCLOAK_URL).
const REALM = `shop-${randomBytes(4).toString('hex')}`;
const BACKEND_SECRET = 'backend-secret-5f1c9a7e2d';
const ROTATED_SECRET = 'backend-secret-rotated-88b2';
const SMTP_PASSWORD = 'smtp-password-3e7d';
const IDP_SECRET = 'corp-idp-secret-a41f';

const baseSpec = (): RealmSpecInput & { clients: NonNullable<RealmSpecInput['clients']> } => ({
  realm: REALM,
  displayName: 'Shop',
  passwordPolicy: 'length(12) and digits(1)',
  bruteForce: { enabled: true, failureFactor: 5 },
  smtp: { host: 'smtp.example.com', port: 587, from: 'noreply@example.com', user: 'mailer', password: { $secret: 'smtp', value: SMTP_PASSWORD } },
  clientScopes: [{ name: 'orders', description: 'Order history' }],
  roles: [{ name: 'admin' }, { name: 'viewer', description: 'Can view' }],
  clients: [
    {
      clientId: 'web',
      publicClient: true,
      redirectUris: ['https://shop.example.com/*', 'https://admin.shop.example.com/callback'],
      webOrigins: ['https://shop.example.com'],
      defaultClientScopes: ['basic', 'email', 'orders', 'profile'],
    },
    { clientId: 'backend', secret: { $secret: 'backend', value: BACKEND_SECRET }, standardFlowEnabled: false, serviceAccountsEnabled: true },
  ],
  groups: [{ name: 'staff', realmRoles: ['viewer'], subGroups: [{ name: 'admins', realmRoles: ['admin', 'viewer'] }] }],
  identityProviders: [
    {
      alias: 'corp',
      providerId: 'oidc',
      config: { clientId: 'shop', authorizationUrl: 'https://idp.example.com/auth', tokenUrl: 'https://idp.example.com/token' },
      clientSecret: { $secret: 'corp', value: IDP_SECRET },
    },
  ],
});

const secretsIn = (value: unknown) => [BACKEND_SECRET, ROTATED_SECRET, SMTP_PASSWORD, IDP_SECRET].filter((s) => JSON.stringify(value).includes(s));

async function clientCredentialsToken(baseUrl: string, clientId: string, secret: string): Promise<Response> {
  return fetch(`${baseUrl}/realms/${REALM}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
}

describe('realm as code against a real Keycloak', () => {
  let server: KeycloakServer;
  let creds: KeycloakAdminCredentials;
  const fileStarted = Date.now();

  beforeAll(async () => {
    server = await startKeycloak();
    creds = { baseUrl: server.baseUrl, adminUser: server.adminUser, adminPassword: server.adminPassword };
    console.info(`keycloak ready in ${server.startupMs} ms`);
  }, 600_000);
  afterAll(async () => {
    if (creds) await (await connectKeycloakAdmin(creds, REALM)).realms.del({ realm: REALM }).catch(() => {});
    await server?.stop();
    console.info(`realm-as-code test file: ${Math.round((Date.now() - fileStarted) / 1000)} s including the Keycloak boot`);
  });

  it('knows exactly the built-ins Keycloak puts in a new realm', async () => {
    const realm = `Fresh-${randomBytes(4).toString('hex')}`;
    const kc = await connectKeycloakAdmin(creds, realm);
    await kc.realms.create({ realm, enabled: true });
    try {
      const names = (items: { clientId?: string; name?: string }[]) => items.map((i) => i.clientId ?? i.name ?? '').sort();
      expect(names(await kc.clients.find())).toEqual([...keycloakBuiltins('client', realm)].sort());
      expect(names(await kc.roles.find())).toEqual([...keycloakBuiltins('role', realm)].sort());
      expect(names(await kc.clientScopes.find())).toEqual([...keycloakBuiltins('clientScope', realm)].sort());
    } finally {
      await kc.realms.del({ realm });
    }
  });

  it('logs in again when Keycloak rejects its token, and names a failed login without the password', async () => {
    const kc = await connectKeycloakAdmin(creds, 'master');
    const token = (await kc.getAccessToken())!;
    const { sid } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string };
    // Ending the admin session makes Keycloak answer the still unexpired token with 401.
    await kc.realms.deleteSession({ realm: 'master', session: sid, isOffline: false });
    expect((await kc.clients.find({ clientId: 'admin-cli' })).length).toBe(1);
    expect(await kc.getAccessToken()).not.toBe(token);

    const wrong = connectKeycloakAdmin({ ...creds, adminPassword: 'not-the-password' }, 'master');
    await expect(wrong).rejects.toThrow(`Keycloak admin login as "${creds.adminUser}" at ${creds.baseUrl} failed: Invalid user credentials`);
    await expect(wrong).rejects.not.toThrow(/not-the-password/);
  });

  it('plans a missing realm as one realm create plus creates of everything, secrets masked', async () => {
    const plan = await planRealm(creds, baseSpec());
    expect(plan.inSync).toBe(false);
    expect(plan.changes[0]).toMatchObject({ resource: 'realm', id: REALM, action: 'create' });
    expect(plan.changes.every((c) => c.action === 'create')).toBe(true);
    expect(plan.changes.map((c) => `${c.resource}:${c.id}`)).toEqual([
      `realm:${REALM}`,
      `bruteForce:${REALM}`,
      `smtp:${REALM}`,
      'clientScope:orders',
      'role:admin',
      'role:viewer',
      'client:backend',
      'client:web',
      'group:/staff',
      'group:/staff/admins',
      'identityProvider:corp',
    ]);
    expect(plan.changes.find((c) => c.resource === 'client' && c.id === 'backend')?.fields).toContainEqual({
      path: 'secret',
      from: null,
      to: '***',
      note: 'set',
    });
    expect(secretsIn(plan)).toEqual([]);
  });

  it('applies the spec, after which the plan is empty and a second apply changes nothing', async () => {
    const planned = await planRealm(creds, baseSpec());
    const applied = await applyRealm(creds, baseSpec());
    expect(applied).toEqual({ realm: REALM, inSync: true, changes: planned.changes });
    expect(secretsIn(applied)).toEqual([]);
    expect(await planRealm(creds, baseSpec())).toEqual({ realm: REALM, inSync: true, changes: [] });
    expect(await applyRealm(creds, baseSpec())).toEqual({ realm: REALM, inSync: true, changes: [] });
  });

  it('created a confidential client that gets a token with its secret', async () => {
    const res = await clientCredentialsToken(server.baseUrl, 'backend', BACKEND_SECRET);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token?: string }).access_token).toMatch(/^ey/);
  });

  it('compares lists as sets: the same URIs in another order are in sync', async () => {
    const spec = baseSpec();
    spec.clients[0]!.redirectUris = [...spec.clients[0]!.redirectUris!].reverse();
    spec.clients[0]!.defaultClientScopes = [...spec.clients[0]!.defaultClientScopes!].reverse();
    expect((await planRealm(creds, spec)).changes).toEqual([]);
  });

  it('plans exactly the fields that changed, then applies them', async () => {
    const spec = baseSpec();
    spec.clients[0]!.redirectUris = ['https://shop.example.com/*', 'https://new.shop.example.com/callback'];
    spec.roles = [{ name: 'admin' }, { name: 'viewer', description: 'Can view orders' }];
    const plan = await planRealm(creds, spec);
    expect(plan.changes).toEqual([
      { resource: 'role', id: 'viewer', action: 'update', fields: [{ path: 'description', from: 'Can view', to: 'Can view orders' }] },
      {
        resource: 'client',
        id: 'web',
        action: 'update',
        fields: [
          {
            path: 'redirectUris',
            from: ['https://admin.shop.example.com/callback', 'https://shop.example.com/*'],
            to: ['https://new.shop.example.com/callback', 'https://shop.example.com/*'],
          },
        ],
      },
    ]);
    expect((await applyRealm(creds, spec)).changes).toEqual(plan.changes);
    expect((await planRealm(creds, spec)).inSync).toBe(true);
    await applyRealm(creds, baseSpec());
  });

  it('shows a rotated secret only as *** and makes the new one work', async () => {
    const spec = baseSpec();
    spec.clients[1]!.secret = { $secret: 'backend', value: ROTATED_SECRET };
    spec.smtp!.password = { $secret: 'smtp', value: 'smtp-password-rotated' };
    const plan = await planRealm(creds, spec);
    expect(plan.changes).toEqual([
      { resource: 'smtp', id: REALM, action: 'update', fields: [{ path: 'password', from: '***', to: '***', note: 'changed' }] },
      { resource: 'client', id: 'backend', action: 'update', fields: [{ path: 'secret', from: '***', to: '***', note: 'changed' }] },
    ]);
    expect(secretsIn(plan)).toEqual([]);
    expect(JSON.stringify(plan)).not.toContain('smtp-password-rotated');
    await applyRealm(creds, spec);
    expect((await clientCredentialsToken(server.baseUrl, 'backend', ROTATED_SECRET)).status).toBe(200);
    expect((await clientCredentialsToken(server.baseUrl, 'backend', BACKEND_SECRET)).status).toBe(401);
    expect((await planRealm(creds, spec)).inSync).toBe(true);
    await applyRealm(creds, baseSpec());
  });

  it('converges groups, client scope links, scope settings and identity providers', async () => {
    const spec = baseSpec();
    spec.clientScopes = [{ name: 'orders', description: 'Order history', includeInTokenScope: false }];
    // orders moves from the default to the optional scopes of web.
    spec.clients[0]!.defaultClientScopes = ['basic', 'email', 'profile'];
    spec.clients[0]!.optionalClientScopes = ['orders'];
    spec.groups = [{ name: 'staff', realmRoles: ['admin'], subGroups: [{ name: 'support' }] }];
    spec.identityProviders = [{ ...spec.identityProviders![0]!, displayName: 'Corporate', clientSecret: { $secret: 'corp', value: 'corp-rotated' } }];
    const plan = await planRealm(creds, spec);
    expect(plan.changes).toEqual([
      { resource: 'clientScope', id: 'orders', action: 'update', fields: [{ path: 'includeInTokenScope', from: true, to: false }] },
      {
        resource: 'client',
        id: 'web',
        action: 'update',
        fields: [
          { path: 'defaultClientScopes', from: ['basic', 'email', 'orders', 'profile'], to: ['basic', 'email', 'profile'] },
          { path: 'optionalClientScopes', from: [], to: ['orders'] },
        ],
      },
      { resource: 'group', id: '/staff', action: 'update', fields: [{ path: 'realmRoles', from: ['viewer'], to: ['admin'] }] },
      { resource: 'group', id: '/staff/admins', action: 'delete' },
      { resource: 'group', id: '/staff/support', action: 'create', fields: [] },
      {
        resource: 'identityProvider',
        id: 'corp',
        action: 'update',
        fields: [
          { path: 'clientSecret', from: '***', to: '***', note: 'changed' },
          { path: 'displayName', from: null, to: 'Corporate' },
        ],
      },
    ]);
    expect(JSON.stringify(plan)).not.toContain('corp-rotated');
    expect((await applyRealm(creds, spec)).changes).toEqual(plan.changes);
    expect((await planRealm(creds, spec)).inSync).toBe(true);
    await applyRealm(creds, baseSpec());
    expect((await planRealm(creds, baseSpec())).inSync).toBe(true);
  });

  it('plans the delete of a client the spec drops, never of a built-in', async () => {
    const spec = baseSpec();
    spec.clients = spec.clients.filter((c) => c.clientId !== 'backend');
    const plan = await planRealm(creds, spec);
    expect(plan.changes).toEqual([{ resource: 'client', id: 'backend', action: 'delete' }]);

    const { groups: _groups, ...rest } = spec;
    const none = await planRealm(creds, { ...rest, clients: [], roles: [], clientScopes: [] });
    const deletes = none.changes.filter((c) => c.action === 'delete').map((c) => `${c.resource}:${c.id}`);
    expect(deletes.sort()).toEqual(['client:backend', 'client:web', 'clientScope:orders', 'role:admin', 'role:viewer']);

    await applyRealm(creds, spec);
    const kc = await connectKeycloakAdmin(creds, REALM);
    expect(await kc.clients.find({ clientId: 'backend' })).toEqual([]);
    expect((await kc.clients.find({ clientId: 'account' })).length).toBe(1);
    expect((await planRealm(creds, spec)).inSync).toBe(true);
    await applyRealm(creds, baseSpec());
  });

  it('rejects bad specs with a clear reason and changes nothing', async () => {
    const bad: [string, unknown, RegExp][] = [
      ['unknown field', { ...baseSpec(), displayName: 'Changed', colour: 'blue' }, /colour/],
      [
        'invalid redirect URI',
        { ...baseSpec(), displayName: 'Changed', clients: [{ clientId: 'web', redirectUris: ['not a uri'] }] },
        /absolute URL.*at clients\[0\]\.redirectUris\[0\]/s,
      ],
      ['missing realm', (({ realm: _r, ...rest }) => ({ ...rest, displayName: 'Changed' }))(baseSpec()), /realm/],
      [
        'group with an unknown role',
        { ...baseSpec(), displayName: 'Changed', groups: [{ name: 'staff', realmRoles: ['viewer', 'ghost'] }] },
        /group "\/staff" maps realm role "ghost"/,
      ],
      [
        'client with an unknown scope',
        { ...baseSpec(), displayName: 'Changed', clients: [{ clientId: 'web', publicClient: true, defaultClientScopes: ['nope'] }] },
        /client "web" uses client scope "nope"/,
      ],
    ];
    for (const [what, spec, reason] of bad) {
      const err = await applyRealm(creds, spec).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(InvalidRealmSpecError);
      expect((err as InvalidRealmSpecError).code).toBe('invalid_input');
      expect((err as Error).message, what).toMatch(reason);
      console.info(`${what}: ${(err as Error).message}`);
    }
    expect(await planRealm(creds, baseSpec())).toEqual({ realm: REALM, inSync: true, changes: [] });
  });

  it('runs as the keycloak.realm.plan task with the credentials of the installed instance', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'kf-realm-task-'));
    try {
      const record = { baseUrl: server.baseUrl, adminUser: server.adminUser, adminPassword: server.adminPassword, desiredState: 'running' };
      await saveInstance(stateDir, record as KeycloakInstanceRecord);
      const ctx = testTaskContext({ stateDir });
      const spec = baseSpec();
      spec.displayName = 'Shop 2';
      const plan = await keycloakRealmPlan(taskDefinitions['keycloak.realm.plan'].input.parse({ spec }), ctx);
      expect(plan.changes).toEqual([{ resource: 'realm', id: REALM, action: 'update', fields: [{ path: 'displayName', from: 'Shop', to: 'Shop 2' }] }]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
