import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeycloak, type KeycloakServer } from './keycloak-server.js';

describe('startKeycloak (optimized, dev-file)', () => {
  let kc: KeycloakServer;
  beforeAll(async () => {
    kc = await startKeycloak();
    const rss = await kc.rssBytes();
    console.info(`keycloak optimized start: ready in ${kc.startupMs} ms, RSS ${Math.round((rss ?? 0) / 2 ** 20)} MiB`);
  }, 600_000);
  afterAll(async () => {
    await kc?.stop();
  });

  it('is ready, serves metrics and OIDC discovery on loopback ports', async () => {
    expect(kc.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${kc.managementUrl}/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${kc.managementUrl}/metrics`)).text()).toContain('jvm_memory_used_bytes');
    const discovery = (await (await fetch(`${kc.baseUrl}/realms/master/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    expect(discovery.issuer).toBe(`${kc.baseUrl}/realms/master`);
  });

  it('logs the bootstrap admin in with a password grant', async () => {
    const res = await fetch(`${kc.baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: kc.adminUser, password: kc.adminPassword }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token: string }).access_token.split('.')).toHaveLength(3);
    const wrong = await fetch(`${kc.baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: kc.adminUser, password: 'wrong' }),
    });
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('reports the JVM resident memory and stops cleanly', async () => {
    expect(await kc.rssBytes()).toBeGreaterThan(100 * 2 ** 20);
    const pid = kc.pid!;
    await kc.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(fetch(`${kc.baseUrl}/realms/master`)).rejects.toThrow();
    await expect(access(`/proc/${pid}`)).rejects.toThrow();
  });
});

describe('startKeycloak failures', () => {
  it('fails loudly with the last log lines when the database is unreachable', async () => {
    const start = startKeycloak({ dbUrl: 'jdbc:postgresql://127.0.0.1:1/keycloak', dbUsername: 'kc', dbPassword: 'nope', readyTimeoutMs: 150_000 });
    await expect(start).rejects.toThrow(/Keycloak 26\.\d+\.\d+ exited \(1\) before it was ready; last log lines:\n[\s\S]*Connection to 127\.0\.0\.1:1 refused/);
  }, 600_000);

  it('rejects a dbUrl that is not JDBC without echoing it', async () => {
    await expect(startKeycloak({ dbUrl: 'postgres://kc:secret@db/kc' })).rejects.toThrow(/JDBC URL[\s\S]*"postgres"/);
    await expect(startKeycloak({ dbUrl: 'postgres://kc:secret@db/kc' })).rejects.not.toThrow(/secret/);
  });
});
