export interface Limiter {
  /** Runs `fn` once fewer than `max` calls are running. */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** Caps how many async calls run at once (e.g. NATS requests in flight). */
export function createLimiter(max: number): Limiter {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      while (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
      try {
        return await fn();
      } finally {
        active--;
        waiting.shift()?.();
      }
    },
  };
}
