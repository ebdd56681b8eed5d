import { describe, expect, it, vi } from 'vitest';
import { lazyHandler } from './lazy-handler.js';

describe('lazyHandler', () => {
  it('loads nothing until called, then passes the arguments through and returns what the handler returns', async () => {
    const handler = vi.fn(async (a: number, b: string) => `${a}:${b}`);
    const load = vi.fn(async () => handler);
    const lazy = lazyHandler(load);
    expect(load).not.toHaveBeenCalled();
    expect(await lazy(1, 'x')).toBe('1:x');
    expect(await lazy(2, 'y')).toBe('2:y');
    expect(handler.mock.calls).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
  });

  it('rejects with the load error, so the task fails with a reason instead of the agent', async () => {
    const lazy = lazyHandler<() => Promise<void>>(() => Promise.reject(new Error('chunk missing')));
    await expect(lazy()).rejects.toThrow('chunk missing');
  });
});
