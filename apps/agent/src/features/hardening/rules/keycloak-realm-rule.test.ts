import { createLogger } from '@keyfleet/log';
import { type KeycloakServer, startKeycloak } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HardeningRule, RuleEnv } from '../hardening-rule.js';
import { type KeycloakAdminApi, keycloakAdminApi } from '../keycloak-admin-api.js';
import { keycloakHostProfile } from '../keycloak-host-profile.js';

/** The Keycloak posture rules against a real Keycloak: a realm set up the careless way, fixed, audited, rolled back. */
describe('Keycloak posture rules against a real Keycloak', () => {
  let server: KeycloakServer;
  let env: RuleEnv;
  let api: KeycloakAdminApi;
  const rule = (id: string) => keycloakHostProfile.find((r) => r.id === id) as HardeningRule;
  const realm = async (name: string) => api.get<Record<string, unknown>>(`/${name}`);

  beforeAll(async () => {
    server = await startKeycloak();
    const keycloak = { baseUrl: server.baseUrl, adminUser: server.adminUser, adminPassword: server.adminPassword };
    env = {
      root: '/nonexistent',
      run: async () => ({ code: 1, stdout: '', stderr: 'no commands in this test' }),
      sshd: 'sshd',
      log: createLogger('test', { level: 'silent' }),
      signal: new AbortController().signal,
      reachesHub: async () => true,
      params: {
        runtime: 'process',
        fileOwner: { name: 'root', uid: 0 },
        ssh: { access: [] },
        paths: { agentStateDir: '/x', keycloakConfDir: undefined, keycloakTlsDir: '/x', keycloakInstanceFile: '/x' },
        natsEndpoints: [],
        keycloak,
      },
    };
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
});
