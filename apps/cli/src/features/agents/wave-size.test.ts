import { describe, expect, it } from 'vitest';
import { waveSize } from './wave-size.js';

describe('waveSize', () => {
  it('takes a count or a percentage, rounded up, never 0', () => {
    expect(waveSize('10%', 3)).toBe(1);
    expect(waveSize('10%', 25)).toBe(3);
    expect(waveSize('100%', 7)).toBe(7);
    expect(waveSize('2', 3)).toBe(2);
    expect(waveSize('5', 0)).toBe(5);
  });

  it('refuses anything else', () => {
    for (const bad of ['0', '0%', '150%', 'ten', '-1', '1.5']) expect(() => waveSize(bad, 10)).toThrow(/bad --batch/);
  });
});
