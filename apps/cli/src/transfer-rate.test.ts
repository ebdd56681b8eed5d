import { describe, expect, it } from 'vitest';
import { TransferRate } from './transfer-rate.js';

describe('TransferRate', () => {
  it('is bytes per second over the reports of the last 10 s, on the reports’ own times', () => {
    const r = new TransferRate();
    r.add(0, 1_000);
    expect(r.perSecond()).toBeUndefined();
    r.add(50_000_000, 2_000);
    expect(r.perSecond()).toBe(50_000_000);
    // A stall shows within the window: 12 s later the burst has left it.
    for (let t = 3_000; t <= 14_000; t += 1_000) r.add(50_000_000, t);
    expect(r.perSecond()).toBe(0);
    r.add(60_000_000, 15_000);
    expect(r.perSecond()).toBeCloseTo(10_000_000 / 10, 0);
  });

  it('starts again when the count goes back (a retried task)', () => {
    const r = new TransferRate();
    r.add(0, 0);
    r.add(100, 1_000);
    r.add(10, 2_000);
    expect(r.perSecond()).toBeUndefined();
    r.add(30, 3_000);
    expect(r.perSecond()).toBe(20);
  });
});
