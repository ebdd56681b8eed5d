import { describe, expect, it } from 'vitest';
import { logLineText } from './log-line-text.js';

describe('logLineText', () => {
  const warn = { id: 'keycloak.log:1:0:0', at: '2026-12-01T10:00:00.000Z', source: 'keycloak', level: 'warn', line: 'WARN slow' };

  it('prints plain text for a pipe and colours the level only on a terminal', () => {
    expect(logLineText(warn, false)).toBe('2026-12-01T10:00:00.000Z WARN  keycloak WARN slow');
    expect(logLineText(warn, true)).toBe('2026-12-01T10:00:00.000Z \x1b[33mWARN \x1b[0m keycloak WARN slow');
    expect(logLineText({ ...warn, level: 'info', source: 'agent' }, true)).toBe('2026-12-01T10:00:00.000Z INFO  agent    WARN slow');
  });
});
