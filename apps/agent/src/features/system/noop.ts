import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskHandler } from '../../task-handler.js';

/** Waits (abortably), then returns a payload of the requested size or fails on request. */
export const noop: TaskHandler<'noop'> = async (input, ctx) => {
  if (input.delayMs > 0) await sleep(input.delayMs, undefined, { signal: ctx.signal });
  if (input.fail !== undefined) throw new Error(input.fail);
  return { delayedMs: input.delayMs, payload: 'x'.repeat(input.sizeBytes) };
};
