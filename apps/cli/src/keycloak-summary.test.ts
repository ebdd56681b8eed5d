import { describe, expect, it } from 'vitest';
import { keycloakSummary } from './keycloak-summary.js';

const instance = {
  runtime: 'docker',
  version: '26.4.7',
  ready: true,
  baseUrl: 'http://kc:8080',
  managementUrl: 'http://kc:9000',
  uptimeSec: 600,
  realms: ['master', 'demo'],
};
const report = (loginOk: boolean) => ({
  ok: loginOk,
  checkedAt: '2025-01-01T00:00:00.000Z',
  checks: [
    { name: 'health', ok: true, detail: 'UP', ms: 3 },
    { name: 'login', ok: loginOk, detail: loginOk ? 'token issued' : 'invalid_client', ms: 9 },
  ],
});

describe('keycloakSummary', () => {
  it('shows version, runtime, readiness and realms from status, with uptime', () => {
    expect(keycloakSummary({ type: 'keycloak.status', state: 'succeeded', output: { installed: true, instance }, error: null })).toEqual({
      version: '26.4.7',
      runtime: 'docker',
      ready: true,
      realms: 'master,demo',
      detail: 'up 10m',
    });
    expect(keycloakSummary({ type: 'keycloak.status', state: 'succeeded', output: { installed: false }, error: null })).toEqual({ detail: 'not installed' });
  });

  it('says what install, update and verify did, naming failed checks', () => {
    expect(
      keycloakSummary({ type: 'keycloak.install', state: 'succeeded', output: { changed: false, instance, steps: [], verify: report(true) }, error: null })
        .detail,
    ).toBe('already installed, no change; verified (health, login)');
    expect(
      keycloakSummary({
        type: 'keycloak.update',
        state: 'succeeded',
        output: { outcome: 'unchanged', instance, verify: report(false), timeline: [] },
        error: null,
      }).detail,
    ).toBe('unchanged; verify failed: login (invalid_client)');
    expect(keycloakSummary({ type: 'keycloak.verify', state: 'succeeded', output: report(true), error: null })).toEqual({ detail: 'verified (health, login)' });
  });

  it('gives the error of a task that did not succeed, with failed checks when it carries them', () => {
    expect(
      keycloakSummary({ type: 'keycloak.verify', state: 'failed', output: null, error: { code: 'handler_error', message: 'health: connection refused' } }),
    ).toEqual({
      detail: 'handler_error: health: connection refused',
    });
    expect(
      keycloakSummary({ type: 'keycloak.verify', state: 'failed', output: report(false), error: { code: 'handler_error', message: 'login failed' } }),
    ).toEqual({
      detail: 'handler_error: login failed — verify failed: login (invalid_client)',
    });
    expect(keycloakSummary({ type: 'keycloak.start', state: 'expired', output: null, error: null })).toEqual({ detail: 'expired' });
    expect(keycloakSummary({ type: 'keycloak.stop', state: 'succeeded', output: { bogus: 1 }, error: null }).detail).toMatch(/^unexpected output: /);
  });
});
