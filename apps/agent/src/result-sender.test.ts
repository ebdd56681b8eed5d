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
    let online = false;
    const delivered: string[] = [];
    const sender = new ResultSender({ log, deliver: async (id) => void delivered.push(`${id} while ${online ? 'online' : 'offline'}`), acked: async () => {} });
    sender.send('t-a', result);
    sender.send('t-b', result);
    expect(sender.size).toBe(2);
    online = true;
    sender.setOnline(true);
    // Each sent exactly once, and only once online: an attempt made while offline would be listed.
    await vi.waitFor(() => expect(sender.size).toBe(0));
    expect(delivered.sort()).toEqual(['t-a while online', 't-b while online']);
    sender.stop();
  });
});
