import { describe, expect, it } from 'vitest';
import { testTaskContext } from '../../testing/test-task-context.js';
import { noop } from './noop.js';

const ctx = (signal = new AbortController().signal) => testTaskContext({ signal });

describe('noop task', () => {
  it('waits the requested delay and returns a payload of the requested size', async () => {
    const before = Date.now();
    const out = await noop({ delayMs: 60, sizeBytes: 1000 }, ctx());
    expect(Date.now() - before).toBeGreaterThanOrEqual(55);
    expect(out).toEqual({ delayedMs: 60, payload: 'x'.repeat(1000) });
  });

  it('stops waiting as soon as it is aborted', async () => {
    const ac = new AbortController();
    const before = Date.now();
    const run = noop({ delayMs: 60_000, sizeBytes: 0 }, ctx(ac.signal));
    setTimeout(() => ac.abort(new Error('cancelled')), 20);
    await expect(run).rejects.toThrow();
    expect(Date.now() - before).toBeLessThan(1_000);
  });

  it('fails with the given message when asked to', async () => {
    await expect(noop({ delayMs: 0, sizeBytes: 0, fail: 'as requested' }, ctx())).rejects.toThrow('as requested');
  });
});
