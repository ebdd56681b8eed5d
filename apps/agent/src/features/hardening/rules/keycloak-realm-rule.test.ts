import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeycloakServer, startKeycloak } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HardeningRule, RuleEnv } from '../hardening-rule.js';
import { type KeycloakAdminApi, keycloakAdminApi } from '../keycloak-admin-api.js';
import { keycloakHostProfile } from '../keycloak-host-profile.js';
import { testRuleEnv } from '../testing/rule-env.js';

/**
 * The Keycloak posture rules against a real Keycloak: a realm set up the careless way, fixed,
 * audited, rolled back; a password-only master admin made to set up OTP; the admin console on the
 * public URL found.
 */
describe('Keycloak posture rules against a real Keycloak', () => {
  let server: KeycloakServer;
  let env: RuleEnv;
  let api: KeycloakAdminApi;
  const rule = (id: string) => keycloakHostProfile.find((r) => r.id === id) as HardeningRule;
  const realm = async (name: string) => api.get<Record<string, unknown>>(`/${name}`);

  beforeAll(async () => {
    server = await startKeycloak();
    const keycloak = { baseUrl: server.baseUrl, adminUser: server.adminUser, adminPassword: server.adminPassword };
    env = testRuleEnv('/nonexistent', {
      run: async () => ({ code: 1, stdout: '', stderr: 'no commands in this test' }),
      params: { ssh: { access: [] }, paths: { agentStateDir: '/x', keycloakConfDir: undefined, keycloakTlsDir: '/x', keycloakInstanceFile: '/x' }, keycloak },
    });
    api = await keycloakAdminApi(keycloak, env.signal);
    const res = await fetch(`${server.baseUrl}/admin/realms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ realm: 'careless', enabled: true, bruteForceProtected: false, sslRequired: 'none', eventsEnabled: false }),
    });
    expect(res.status).toBe(201);
  }, 600_000);
  afterAll(async () => {
    await server?.stop();
  });

  async function token(): Promise<string> {
    const res = await fetch(`${server.baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: server.adminUser, password: server.adminPassword }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('a realm with brute-force detection off fails, apply fixes it, a new audit passes, rollback restores it', async () => {
    const bruteForce = rule('keycloak.brute-force');
    const before = await bruteForce.check(env);
    expect(before.status).toBe('fail');
    expect(before.changes).toContainEqual({ target: 'realm careless', before: 'bruteForceProtected off', after: 'bruteForceProtected on' });
    const saved = await bruteForce.apply(env, before);
    expect((await realm('careless')).bruteForceProtected).toBe(true);
    expect((await bruteForce.check(env)).status).toBe('pass');
    await bruteForce.rollback(env, saved);
    expect((await realm('careless')).bruteForceProtected).toBe(false);
    expect((await bruteForce.check(env)).status).toBe('fail');
  });

  it('requires TLS and saved, expiring events the same way, and puts both back', async () => {
    const ssl = rule('keycloak.ssl-required');
    const events = rule('keycloak.events');
    const sslCheck = await ssl.check(env);
    expect(sslCheck).toMatchObject({ status: 'fail', changes: [{ target: 'realm careless', before: 'sslRequired none', after: 'sslRequired external' }] });
    const eventsCheck = await events.check(env);
    expect(eventsCheck.changes).toContainEqual({ target: 'realm careless', before: 'events off, expiry none', after: 'events saved, expiry 2592000s' });
    const [sslSaved, eventsSaved] = [await ssl.apply(env, sslCheck), await events.apply(env, eventsCheck)];
    expect(await realm('careless')).toMatchObject({ sslRequired: 'external', eventsEnabled: true, eventsExpiration: 2592000 });
    expect([(await ssl.check(env)).status, (await events.check(env)).status]).toEqual(['pass', 'pass']);
    await events.rollback(env, eventsSaved);
    await ssl.rollback(env, sslSaved);
    const restored = await realm('careless');
    expect(restored).toMatchObject({ sslRequired: 'none', eventsEnabled: false });
    expect(restored.eventsExpiration ?? 0).toBe(0);
  });

  it('reports the temporary bootstrap admin and leaves its removal to the operator', async () => {
    const admin = rule('keycloak.bootstrap-admin');
    const check = await admin.check(env);
    expect(check).toMatchObject({ status: 'fail', current: `temporary admin ${server.adminUser}` });
    await expect(admin.apply(env, check)).rejects.toThrow(/^refused: the temporary admin is removed by hand/);
  });

  it('requires OTP of master-realm admins with a password only (the agent’s own account left out), and takes it back', async () => {
    const otp = rule('keycloak.admin-otp');
    const headers = { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' };
    const created = await fetch(`${server.baseUrl}/admin/realms/master/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ username: 'alice', enabled: true, credentials: [{ type: 'password', value: 'alice-pw', temporary: false }] }),
    });
    expect(created.status).toBe(201);
    const aliceId = created.headers.get('location')!.split('/').at(-1)!;
    const adminRole = await api.get<{ id: string; name: string }>('/master/roles/admin');
    const granted = await fetch(`${server.baseUrl}/admin/realms/master/users/${aliceId}/role-mappings/realm`, {
      method: 'POST',
      headers,
      body: JSON.stringify([adminRole]),
    });
    expect(granted.status).toBe(204);

    const before = await otp.check(env);
    expect(before).toMatchObject({
      status: 'fail',
      changes: [{ target: 'master user alice', before: 'password only', after: 'required action CONFIGURE_TOTP' }],
    });
    expect(before.current).toContain('browser flow browser asks for OTP');
    expect(before.current).toContain(`(${server.adminUser}: the agent's own account, left out)`);
    const saved = await otp.apply(env, before);
    expect((await api.get<{ requiredActions: string[] }>(`/master/users/${aliceId}`)).requiredActions).toEqual(['CONFIGURE_TOTP']);
    expect(await otp.check(env)).toMatchObject({ status: 'pass', changes: [] });
    // The agent still logs in with its password: its own account got no required action.
    await expect((await keycloakAdminApi(env.params.keycloak!, env.signal)).get('/master')).resolves.toBeTruthy();
    await otp.rollback(env, saved);
    expect((await api.get<{ requiredActions: string[] }>(`/master/users/${aliceId}`)).requiredActions).toEqual([]);
    expect((await otp.check(env)).status).toBe('fail');
  });

  it('fails an admin console the public URL serves; passes once a proxy hides it or hostname-admin is set; apply refuses', async () => {
    const consoleRule = rule('keycloak.admin-console');
    const root = await mkdtemp(join(tmpdir(), 'kf-console-root-'));
    // Stands in for the production proxy: it passes only the public paths to Keycloak.
    const proxy = createServer((req, res) => {
      res.writeHead(req.url?.startsWith('/realms/') ? 200 : 404).end();
    });
    try {
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const confDir = '/opt/keycloak/conf';
      await mkdir(join(root, 'state/keycloak'), { recursive: true });
      await mkdir(join(root, confDir), { recursive: true });
      const withHostname = async (hostname: string) => {
        await writeFile(join(root, 'state/keycloak/instance.json'), JSON.stringify({ runtime: 'process', version: '26.4.7', config: { hostname } }));
        return { ...env, root, params: { ...env.params, paths: { ...env.params.paths, agentStateDir: '/state', keycloakConfDir: confDir } } };
      };
      const direct = await consoleRule.check(await withHostname(server.baseUrl));
      expect(direct).toMatchObject({
        status: 'fail',
        current: `admin console served at ${server.baseUrl}/admin/master/console/ (HTTP 200), no hostname-admin`,
      });
      expect(direct.reason).toContain('hostname-admin');
      await expect(consoleRule.apply(env, direct)).rejects.toThrow(/^refused: set hostname-admin/);

      const behindProxy = await consoleRule.check(await withHostname(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`));
      expect(behindProxy).toMatchObject({ status: 'pass', current: expect.stringMatching(/refused \(HTTP 404\): a proxy hides it$/) });

      await writeFile(join(root, confDir, 'keycloak.conf'), 'hostname-admin=https://admin.internal.example\n');
      expect(await consoleRule.check(await withHostname(server.baseUrl))).toMatchObject({
        status: 'pass',
        current: 'hostname-admin https://admin.internal.example',
      });
    } finally {
      proxy.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
