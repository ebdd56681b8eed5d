import type { Logger } from '@keyfleet/log';

export interface SerialRunner {
  /** Runs now, then every interval (measured from the end of the previous run). */
  start(): void;
  /** Runs as soon as possible: now, or right after the run in progress. */
  kick(): void;
  /** Stops scheduling and waits for the run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `task` periodically and on demand, never twice at once: kicks that arrive
 * during a run collapse into a single follow-up run.
 */
export function createSerialRunner(task: () => Promise<void>, opts: { name: string; intervalMs: number; log: Logger }): SerialRunner {
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  const fire = (): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = task()
      .catch((err: unknown) => opts.log.error({ err }, `${opts.name} failed`))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          fire();
        } else if (!stopped) {
          timer = setTimeout(fire, opts.intervalMs);
        }
      });
  };

  return {
    start() {
      stopped = false;
      fire();
    },
    kick: fire,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
