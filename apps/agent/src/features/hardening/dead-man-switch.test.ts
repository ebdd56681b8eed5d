import { describe, expect, it } from 'vitest';
import { deadManSwitch } from './dead-man-switch.js';

describe('deadManSwitch', () => {
  it('keeps the change once confirmed', async () => {
    let probes = 0;
    let reverted = false;
    const kept = await deadManSwitch({
      confirm: async () => ++probes === 2,
      seconds: 5,
      revert: async () => {
        reverted = true;
      },
      signal: new AbortController().signal,
    });
    expect({ kept, probes, reverted }).toEqual({ kept: true, probes: 2, reverted: false });
  });

  it('reverts when no confirmation comes in time', async () => {
    const started = Date.now();
    let reverted = false;
    const kept = await deadManSwitch({
      confirm: async () => false,
      seconds: 1,
      revert: async () => {
        reverted = true;
      },
      signal: new AbortController().signal,
    });
    expect({ kept, reverted }).toEqual({ kept: false, reverted: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('reverts at once when the task is cancelled', async () => {
    const abort = new AbortController();
    let reverted = false;
    const kept = deadManSwitch({
      confirm: async () => {
        abort.abort();
        return false;
      },
      seconds: 600,
      revert: async () => {
        reverted = true;
      },
      signal: abort.signal,
    });
    expect(await kept).toBe(false);
    expect(reverted).toBe(true);
  });
});
