import { describe, expect, it } from 'vitest';
import { ariRecheckTime, ariRenewalTime, renewalTime, retryDelayMs } from './renewal-time.js';

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

describe('ARI renewal time', () => {
  const window = { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-03-03T00:00:00Z') };
  const before = new Date('2026-02-01T00:00:00Z');

  it('is uniformly random inside a future window', () => {
    expect(ariRenewalTime(window, before, () => 0).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(ariRenewalTime(window, before, () => 0.5).toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(ariRenewalTime(window, before, () => 0.999999).getTime()).toBeLessThan(window.end.getTime());
  });

  it('is now when the drawn time has passed: in a window that has begun, or is over', () => {
    const inside = new Date('2026-03-02T00:00:00Z');
    expect(ariRenewalTime(window, inside, () => 0.25)).toEqual(inside);
    expect(ariRenewalTime(window, inside, () => 0.75).toISOString()).toBe('2026-03-02T12:00:00.000Z');
    const after = new Date('2026-03-04T00:00:00Z');
    expect(ariRenewalTime(window, after, () => 0.5)).toEqual(after);
  });

  it('asks again after Retry-After (seconds or a date), clamped to 1 min … 24 h, 6 h without one', () => {
    const now = new Date('2026-03-01T00:00:00Z');
    const at = (v: string | null) => ariRecheckTime(v, now).getTime() - now.getTime();
    expect(at('3600')).toBe(3_600_000);
    expect(at('Sun, 01 Mar 2026 02:00:00 GMT')).toBe(7_200_000);
    expect(at('1')).toBe(60_000);
    expect(at('999999')).toBe(24 * 3_600_000);
    expect(at(null)).toBe(6 * 3_600_000);
    expect(at('soon')).toBe(6 * 3_600_000);
  });
});
