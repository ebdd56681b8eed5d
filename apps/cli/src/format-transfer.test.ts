import { describe, expect, it } from 'vitest';
import { formatTransfer } from './format-transfer.js';

const MiB = 1024 ** 2;

describe('formatTransfer', () => {
  it('draws a bar, the percentage, bytes of the total and the throughput when the total is known', () => {
    expect(formatTransfer({ bytes: 512 * MiB, totalBytes: 2048 * MiB, rate: 85.3 * MiB }, 20)).toBe(
      '[█████░░░░░░░░░░░░░░░]   25%  512.0 MiB / 2.00 GiB  85.3 MiB/s',
    );
    expect(formatTransfer({ bytes: 2048 * MiB, totalBytes: 2048 * MiB }, 10)).toBe('[██████████]  100%  2.00 GiB / 2.00 GiB');
    // More than announced (a report raced the total): full, never past it.
    expect(formatTransfer({ bytes: 3 * MiB, totalBytes: 2 * MiB }, 4)).toBe('[████]  100%  3.0 MiB / 2.0 MiB');
  });

  it('without a total: bytes and throughput, and on a terminal a block sliding back and forth', () => {
    expect(formatTransfer({ bytes: 300 * MiB, rate: 40 * MiB }, 10, 0)).toBe('[██░░░░░░░░]  300.0 MiB  40.0 MiB/s');
    const bars = [0, 4, 8, 12, 16].map((frame) => formatTransfer({ bytes: 1 }, 10, frame).split('  ')[0]);
    expect(bars).toEqual(['[██░░░░░░░░]', '[░░░░██░░░░]', '[░░░░░░░░██]', '[░░░░██░░░░]', '[██░░░░░░░░]']);
    // Without a frame (not live) there is nothing to draw.
    expect(formatTransfer({ bytes: 300 * MiB }, 10)).toBe('300.0 MiB');
  });

  it('plain (width 0): no bar, for log lines', () => {
    expect(formatTransfer({ bytes: 1536, totalBytes: 4096, rate: 512 }, 0)).toBe(' 37%  1.5 KiB / 4.0 KiB  512 B/s');
    expect(formatTransfer({ bytes: 10 }, 0)).toBe('10 B');
  });
});
