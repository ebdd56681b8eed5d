import { Writable } from 'node:stream';
import { createLogger } from '@keyfleet/log';
import { describe, expect, it } from 'vitest';
import { HostDataRate } from './host-data-rate.js';

describe('HostDataRate', () => {
  const setup = () => {
    const warnings: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write: (c, _e, cb) => {
        warnings.push(JSON.parse(String(c)));
        cb();
      },
    });
    const log = createLogger('test', { destination });
    const clock = { now: 1_000_000 };
    const rate = new HostDataRate({ data: 1000, dataBurstBytes: 5000 }, log, () => clock.now);
    return { rate, clock, warnings };
  };

  it('admits a burst, then the rate, per host; drops the excess and says so once a minute', () => {
    const { rate, clock, warnings } = setup();
    expect(rate.admit('h_a', 5000)).toBe(true);
    expect(rate.admit('h_a', 1)).toBe(false);
    expect(rate.admit('h_b', 5000)).toBe(true); // another host has its own allowance
    clock.now += 500;
    expect(rate.admit('h_a', 500)).toBe(true);
    expect(rate.admit('h_a', 1)).toBe(false);
    expect(warnings).toEqual([
      expect.objectContaining({ hostId: 'h_a', dropped: 1, droppedBytes: 1, msg: 'dropping messages from an agent over its data rate' }),
    ]);

    clock.now += 59_000; // refills to the burst, no more
    expect(rate.admit('h_a', 5001)).toBe(false);
    expect(warnings).toHaveLength(1);
    clock.now += 1_000;
    expect(rate.admit('h_a', 6000)).toBe(false);
    expect(warnings.at(-1)).toMatchObject({ hostId: 'h_a', dropped: 3, droppedBytes: 1 + 5001 + 6000 });
    expect(rate.admit('h_a', 5000)).toBe(true);
  });
});
