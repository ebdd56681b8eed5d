/**
 * Exponential backoff with "equal jitter": half of the delay is fixed and half random,
 * so many agents retrying after the same outage spread out but never retry in a tight loop.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + Math.random() * (base / 2));
}
