import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuleEnv } from '../hardening-rule.js';
import { keycloakHostProfile } from '../keycloak-host-profile.js';
import { RuleRefused } from '../rule-refused.js';
import { debianRoot, STATE_DIR } from '../testing/debian-root.js';
import { testRuleEnv } from '../testing/rule-env.js';
import { treeDigest } from '../testing/tree-digest.js';

/** The config posture rules of the built-in profile, read from an instance record in a temp root. */
describe('Keycloak config rules', () => {
  let root: string;
  beforeAll(async () => {
    root = await debianRoot();
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const rule = (id: string) => keycloakHostProfile.find((r) => r.id === id)!;
  const env = (firewall?: { managementPort: number; monitoringCidrs: string[] }): RuleEnv =>
    testRuleEnv(root, {
      params: {
        runtime: 'docker',
        ...(firewall ? { firewall: { sshPort: 22, sshCidrs: ['10.0.0.0/8'], publicPorts: [443], confirmSeconds: 60, ...firewall } } : {}),
      },
    });
  const record = (config: Record<string, unknown>) =>
    writeFile(
      join(root, STATE_DIR, 'keycloak/instance.json'),
      JSON.stringify({ runtime: 'docker', version: '26.4.7', hostname: config.hostname, config: { httpPort: 8080, managementPort: 9000, ...config } }),
    );
  const statuses = async (e: RuleEnv) =>
    Object.fromEntries(
      await Promise.all(['keycloak.hostname', 'keycloak.http-off', 'keycloak.management-port'].map(async (id) => [id, (await rule(id).check(e)).status])),
    );

  it('fails a loopback hostname, HTTP beside TLS and an unfirewalled management port, naming each fix', async () => {
    await record({ hostname: 'http://localhost:8080', tls: { certificateFile: '/c.pem', certificateKeyFile: '/k.pem', httpEnabled: true } });
    expect(await statuses(env())).toEqual({ 'keycloak.hostname': 'fail', 'keycloak.http-off': 'fail', 'keycloak.management-port': 'fail' });
    expect(await rule('keycloak.hostname').check(env())).toMatchObject({
      current: 'hostname http://localhost:8080',
      reason: expect.stringContaining('keyfleet keycloak update'),
    });
    expect(await rule('keycloak.http-off').check(env())).toMatchObject({
      current: 'TLS on, HTTP on port 8080',
      reason: expect.stringContaining('tls.httpEnabled: false'),
    });
    expect((await rule('keycloak.management-port').check(env())).reason).toContain('params.firewall.managementPort: 9000');
  });

  it('passes a public hostname, HTTP off, and a management port the firewall limits to monitoring', async () => {
    await record({ hostname: 'https://sso.example.com', tls: { certificateFile: '/c.pem', certificateKeyFile: '/k.pem' } });
    expect(await statuses(env({ managementPort: 9000, monitoringCidrs: ['10.9.0.0/16'] }))).toEqual({
      'keycloak.hostname': 'pass',
      'keycloak.http-off': 'pass',
      'keycloak.management-port': 'pass',
    });
  });

  it('HTTP-off does not concern a Keycloak without TLS; apply refuses and changes nothing', async () => {
    await record({ hostname: 'sso.example.com:8443' });
    const check = await rule('keycloak.http-off').check(env());
    expect(check).toMatchObject({ status: 'not-applicable', reason: expect.stringContaining('no certificate') });
    const hostname = rule('keycloak.hostname');
    expect((await hostname.check(env())).status).toBe('pass');
    const digest = await treeDigest(root);
    await expect(rule('keycloak.management-port').apply(env(), await rule('keycloak.management-port').check(env()))).rejects.toThrow(RuleRefused);
    expect(await treeDigest(root)).toEqual(digest);
  });
});
