import { describe, expect, it } from 'vitest';
import { logLevelOf } from './log-level-of.js';

describe('logLevelOf', () => {
  it('reads Keycloak’s level word, pino’s number, and calls the rest info', () => {
    expect(logLevelOf('2026-12-01 10:00:00,001 WARN  [org.keycloak.events] type=LOGIN_ERROR')).toBe('warn');
    expect(logLevelOf('2026-12-01 10:00:00,001 ERROR [org.keycloak] db down')).toBe('error');
    expect(logLevelOf('{"level":50,"time":1,"msg":"task failed"}')).toBe('error');
    expect(logLevelOf('\tat org.keycloak.Foo.bar(Foo.java:42)')).toBe('info');
  });
});
