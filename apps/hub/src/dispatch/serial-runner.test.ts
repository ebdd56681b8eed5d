import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '@keyfleet/log';
import { createSerialRunner } from './serial-runner.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createSerialRunner', () => {
  const lines: string[] = [];
  const log = createLogger('test', { destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });

  it('never overlaps runs and folds kicks during a run into one follow-up', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const runner = createSerialRunner(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        await sleep(50);
        active--;
      },
      { name: 'test', intervalMs: 60_000, log },
    );
    runner.start();
    for (let i = 0; i < 10; i++) runner.kick();
    await sleep(200);
    await runner.stop();
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
  });

  it('runs on its interval, logs failures and keeps going; stop waits and ends the schedule', async () => {
    let runs = 0;
    const runner = createSerialRunner(
      async () => {
        runs++;
        throw new Error(`run ${runs} failed`);
      },
      { name: 'flaky', intervalMs: 20, log },
    );
    runner.start();
    await sleep(150);
    await runner.stop();
    const seen = runs;
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(lines.some((l) => l.includes('flaky failed') && l.includes('run 1 failed'))).toBe(true);
    runner.kick();
    await sleep(60);
    expect(runs).toBe(seen);
  });
});
