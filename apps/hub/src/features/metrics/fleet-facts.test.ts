import { spawnSync } from 'node:child_process';
import { findBinary } from '@keyfleet/test-harness';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { type TestBackend, testBackends } from '../../testing/test-database.js';

describe.each(testBackends)('/v1/fleet/metrics serves the facts the hub alerts on (%s)', (backend: TestBackend) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('certificate days left, backup ages, a failed drill and version skew, with host labels; promtool parses them', async () => {
    const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000);
    const kc = await t.addHost({ hostname: 'kc-facts', labels: { env: 'prod' } });
    const current = await t.addHost({ hostname: 'kc-current' });
    await sql`INSERT INTO certificates (id, host_id, domains, issuer, challenge, key_type, http01_port, https_port, reload_period, state, not_after, served_not_after, created_by)
              VALUES ('crt-facts', ${kc}, '["sso.example.test"]'::jsonb, '{"kind":"internal"}'::jsonb, 'http-01', 'ecdsa-p256', 80, 8443, '1m', 'valid',
                      ${ago(-24 * 90)}, ${ago(-24 * 5)}, 'test')`.execute(t.db);
    // Stored 30 h ago and drilled since, but that drill failed: no verified backup at all.
    await sql`INSERT INTO backups (id, host_id, state, started_at, finished_at, recipients, storage_kind, storage_key, last_drill)
              VALUES ('bk-facts', ${kc}, 'stored', ${ago(30.1)}, ${ago(30)}, '[]'::jsonb, 'local', 'bk-facts',
                      ${JSON.stringify({ ok: false, taskId: 't', hostId: kc, at: ago(20).toISOString() })}::jsonb)`.execute(t.db);
    await sql`UPDATE hosts SET agent_version = CASE id WHEN ${kc} THEN '0.0.9' ELSE '0.1.0' END WHERE id IN (${kc}, ${current})`.execute(t.db);

    const r = await t.raw('GET', '/v1/fleet/metrics', { token: t.adminToken });
    expect(r.status).toBe(200);
    const line = (name: string, host: string) => r.text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`host="${host}"`));
    const value = (name: string, host: string) => Number(line(name, host)?.split(' ').at(-1));
    expect(line('kf_cert_expires_in_seconds', kc)).toMatch(
      /^kf_cert_expires_in_seconds\{env="prod",host="h_[^"]+",hostname="kc-facts",domain="sso\.example\.test"\} /,
    );
    expect(value('kf_cert_expires_in_seconds', kc) / 86_400).toBeCloseTo(5, 1);
    expect(value('kf_backup_age_seconds', kc) / 3600).toBeCloseTo(30, 1);
    expect(value('kf_backup_verified_age_seconds', kc) / 3600).toBeCloseTo(30.1, 1);
    expect(value('kf_backup_drill_failed', kc)).toBe(1);
    expect(line('kf_agent_version_behind', kc)).toContain('version="0.0.9",wanted="0.1.0"');
    expect(value('kf_agent_version_behind', kc)).toBe(1);
    expect(value('kf_agent_version_behind', current)).toBe(0);
    // A host without certificates or backups has no such series: nothing to alert on.
    expect(line('kf_backup_age_seconds', current)).toBeUndefined();

    const promtool = findBinary('promtool', 'KEYFLEET_PROMTOOL', [], 'apt-get install prometheus');
    const check = spawnSync(promtool, ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });
});
