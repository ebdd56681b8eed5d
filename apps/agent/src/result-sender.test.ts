import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { ResultSender } from './result-sender.js';

const log = createLogger('test', { level: 'silent' });
const result = { outcome: 'succeeded' as const, output: 1, finishedAt: new Date().toISOString() };

describe('ResultSender', () => {
  it('retries with growing delays until acknowledged, then records the ack once', async () => {
    const attempts: number[] = [];
    const acked: string[] = [];
    const sender = new ResultSender({
      log,
      initialDelayMs: 20,
      maxDelayMs: 200,
      deliver: async () => {
        attempts.push(Date.now());
        if (attempts.length < 5) throw new Error('no responders');
      },
      acked: async (id) => void acked.push(id),
    });
    sender.setOnline(true);
    sender.send('t-1', result);
    await vi.waitFor(() => expect(acked).toEqual(['t-1']), { timeout: 3_000 });
    expect(attempts).toHaveLength(5);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // Equal jitter: attempt n waits between half and all of 20 * 2^n ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[3]).toBeGreaterThanOrEqual(79);
    expect(sender.size).toBe(0);
  });

  it('sends nothing while offline and everything as soon as it is online again', async () => {
    const delivered: string[] = [];
    const sender = new ResultSender({ log, deliver: async (id) => void delivered.push(id), acked: async () => {} });
    sender.send('t-a', result);
    sender.send('t-b', result);
    await sleep(30);
    expect(delivered).toEqual([]);
    sender.setOnline(true);
    await vi.waitFor(() => expect(delivered.sort()).toEqual(['t-a', 't-b']));
    sender.stop();
  });
});
