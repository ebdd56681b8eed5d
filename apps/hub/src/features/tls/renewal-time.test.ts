import { describe, expect, it } from 'vitest';
import { renewalTime, retryDelayMs } from './renewal-time.js';

describe('renewal time', () => {
  it('is two thirds into the lifetime', () => {
    const nb = new Date('2026-01-01T00:00:00Z');
    expect(renewalTime(nb, new Date('2026-03-02T00:00:00Z')).toISOString()).toBe('2026-02-10T00:00:00.000Z');
  });

  it('backs off by doubling, capped at 6 h', () => {
    expect([1, 2, 3].map((a) => retryDelayMs(a, 60_000))).toEqual([60_000, 120_000, 240_000]);
    expect(retryDelayMs(30, 60_000)).toBe(6 * 3_600_000);
  });
});
