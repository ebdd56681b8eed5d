import { describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '@keyfleet/log';
import { createSerialRunner } from './serial-runner.js';

describe('createSerialRunner', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger('test', { destination });

  it('never overlaps runs and folds kicks during a run into one follow-up', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    // Each run waits until the test lets it finish: no clock decides what overlaps.
    const finish: Array<() => void> = [];
    const runner = createSerialRunner(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        await new Promise<void>((r) => finish.push(r));
        active--;
      },
      { name: 'test', intervalMs: 60_000, log },
    );
    runner.start();
    expect(runs).toBe(1);
    for (let i = 0; i < 10; i++) runner.kick();
    expect(runs).toBe(1);
    finish.shift()!();
    await vi.waitFor(() => expect(runs).toBe(2));
    finish.shift()!();
    await runner.stop();
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
    expect(finish).toEqual([]);
  });

  it('runs on its interval, logs failures and keeps going; stop waits and ends the schedule', async () => {
    // The interval runs on fake timers: a loaded machine cannot stretch it.
    vi.useFakeTimers();
    try {
      let runs = 0;
      const runner = createSerialRunner(
        async () => {
          runs++;
          throw new Error(`run ${runs} failed`);
        },
        { name: 'flaky', intervalMs: 20, log },
      );
      runner.start();
      await vi.advanceTimersByTimeAsync(50);
      expect(runs).toBe(3);
      await runner.stop();
      expect(lines.some((l) => l.includes('flaky failed') && l.includes('run 1 failed'))).toBe(true);
      runner.kick();
      // Whatever a stopped runner might still have scheduled would run now.
      await vi.runAllTimersAsync();
      expect(runs).toBe(3);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
