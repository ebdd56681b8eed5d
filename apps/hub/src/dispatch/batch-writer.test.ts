import { describe, expect, it } from 'vitest';
import { createBatchWriter } from './batch-writer.js';

describe('createBatchWriter', () => {
  it('writes items that arrive together in one call and gives each its own outcome', async () => {
    const calls: number[][] = [];
    const writer = createBatchWriter(
      async (items: number[]) => {
        calls.push(items);
        return items.map((n) => n * 10);
      },
      { maxDelayMs: 20, maxItems: 100 },
    );
    const outcomes = await Promise.all([1, 2, 3].map((n) => writer.add(n)));
    expect(outcomes).toEqual([10, 20, 30]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('splits at maxItems and batches what arrives during a write', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const firstWrite = new Promise<void>((r) => (release = r));
    const writer = createBatchWriter(
      async (items: number[]) => {
        calls.push(items);
        if (calls.length === 1) await firstWrite;
        return items;
      },
      { maxDelayMs: 1000, maxItems: 2 },
    );
    const all = [writer.add(1), writer.add(2), writer.add(3), writer.add(4), writer.add(5)];
    release();
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5]);
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects every item of a failed batch and keeps working', async () => {
    let fail = true;
    const writer = createBatchWriter(
      async (items: string[]) => {
        if (fail) throw new Error('database down');
        return items;
      },
      { maxDelayMs: 1, maxItems: 10 },
    );
    const failed = await Promise.allSettled([writer.add('a'), writer.add('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await writer.add('c')).toBe('c');
  });

  it('close writes what is queued without waiting for the delay', async () => {
    const written: number[] = [];
    const writer = createBatchWriter(
      async (items: number[]) => {
        written.push(...items);
        return items;
      },
      { maxDelayMs: 60_000, maxItems: 10 },
    );
    const pending = writer.add(7);
    await writer.close();
    expect(written).toEqual([7]);
    await expect(pending).resolves.toBe(7);
  });
});
