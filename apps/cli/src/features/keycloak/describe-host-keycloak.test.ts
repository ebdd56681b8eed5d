import { describe, expect, it } from 'vitest';
import { describeKeycloak, describeVerification } from './describe-host-keycloak.js';

const at = '2025-01-01T00:00:00.000Z';

describe('describeKeycloak', () => {
  it('reads version, runtime, readiness and realms, or says it is not installed', () => {
    expect(
      describeKeycloak({
        installed: true,
        version: '26.4.7',
        runtime: 'docker',
        ready: false,
        realms: ['master', 'demo'],
        baseUrl: 'x',
        updatedAt: at,
        taskId: 't_1',
      }),
    ).toBe(`26.4.7 docker, not ready, realms master,demo (as of ${at})`);
    expect(describeKeycloak({ installed: false, updatedAt: at, taskId: 't_1' })).toBe(`not installed (as of ${at})`);
    expect(describeKeycloak(null)).toBeUndefined();
  });
});

describe('describeVerification', () => {
  it('lists passed checks, or the error and failed checks', () => {
    const checks = [
      { name: 'health' as const, ok: true, detail: 'UP', ms: 1 },
      { name: 'login' as const, ok: false, detail: 'invalid_client', ms: 2 },
    ];
    expect(describeVerification({ ok: true, checkedAt: at, checks: checks.slice(0, 1), taskId: 't_1' })).toBe(`ok (health) at ${at}`);
    expect(describeVerification({ ok: false, checkedAt: at, checks, error: 'login failed', taskId: 't_1' })).toBe(
      `FAILED: login failed; login: invalid_client at ${at}`,
    );
    expect(describeVerification({ ok: false, checkedAt: at, checks: [], taskId: 't_1' })).toBe(`FAILED: not ok at ${at}`);
    expect(describeVerification(null)).toBeUndefined();
  });
});
