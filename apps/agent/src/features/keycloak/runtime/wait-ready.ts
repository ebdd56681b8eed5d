import { setTimeout as sleep } from 'node:timers/promises';
import { keycloakFetch } from '../verify/keycloak-fetch.js';

export interface WaitReadyOptions {
  managementUrl: string;
  /** The public listener; it must answer too, since the management one can be UP before it fails to bind. */
  baseUrl: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Why the instance can no longer become ready (it exited, it is crash-looping), or undefined while it may. */
  dead(): Promise<string | undefined>;
  /** The instance's last log lines, for the failure message. */
  logTail(): Promise<string>;
}

/**
 * How many raw log lines a runtime hands to `logTail`: stack traces of the errors raised while a
 * failed JVM shuts down run to hundreds of lines, and the start-failure summary sits before them.
 */
export const READY_LOG_LINES = 600;
const LOG_LINES_IN_ERROR = 8;
const LINE_MAX = 400;
const SHUTDOWN_NOISE = /After Shutdown|ArC container not initialized/;

/**
 * The log lines that say why, kept short since they go into a task error. In order of preference:
 * Keycloak's own summary of a failed start (its ExecutionExceptionHandler names the root cause, e.g.
 * "Connection to 127.0.0.1:1 refused"); else error lines; else the last lines. Errors that other
 * threads raise while the JVM shuts down come after the summary and say nothing about the cause,
 * so they are dropped rather than allowed to push it out.
 */
function excerpt(log: string): string {
  const lines = log.split('\n').filter((l) => l.trim() !== '' && !/^\s+(at |\.\.\. \d+ more)/.test(l));
  const summary = lines.filter((l) => l.includes('ExecutionExceptionHandler'));
  const errors = lines.filter((l) => /\b(ERROR|FATAL)\b|Exception|Caused by/.test(l) && !SHUTDOWN_NOISE.test(l));
  const chosen = summary.length > 0 ? summary : errors.length > 0 ? errors : lines;
  return chosen
    .slice(-LOG_LINES_IN_ERROR)
    .map((l) => (l.length > LINE_MAX ? `${l.slice(0, LINE_MAX)}…` : l))
    .join('\n');
}

/**
 * Polls `/health/ready` until Keycloak is UP and its public listener answers HTTP; resolves with
 * the time it took, fails with the last log lines. The second probe matters: Keycloak reports UP on
 * the management port a moment before its public port fails to bind (another process holds it),
 * and then exits.
 */
export async function waitReady(opts: WaitReadyOptions): Promise<number> {
  const started = Date.now();
  const url = `${opts.managementUrl}/health/ready`;
  let last = 'no answer yet';
  const fail = async (reason: string) => {
    const tail = await opts.logTail().catch((err: Error) => `(logs unavailable: ${err.message})`);
    return new Error(`${reason}\nits log says:\n${excerpt(tail)}`);
  };
  for (;;) {
    opts.signal.throwIfAborted();
    try {
      const res = await keycloakFetch(url, { signal: opts.signal, timeoutMs: 3_000 });
      if (res.status !== 200 || (res.json as { status?: string } | undefined)?.status !== 'UP') {
        last = `${url}: HTTP ${res.status}`;
      } else {
        // Any HTTP status will do: it proves Keycloak, not some other process, serves the port.
        const notServing = await keycloakFetch(`${opts.baseUrl}/realms/master`, { signal: opts.signal, timeoutMs: 3_000 }).then(
          () => undefined,
          (err: Error) => `management port UP but the public listener is not: ${err.message}`,
        );
        if (!notServing) return Date.now() - started;
        last = notServing;
      }
    } catch (err) {
      if (opts.signal.aborted) throw err;
      last = (err as Error).message;
    }
    const dead = await opts.dead();
    if (dead) throw await fail(`Keycloak will not become ready: ${dead}`);
    if (Date.now() - started > opts.timeoutMs) throw await fail(`Keycloak not ready within ${Math.round(opts.timeoutMs / 1000)}s (${last})`);
    await sleep(500, undefined, { signal: opts.signal });
  }
}
