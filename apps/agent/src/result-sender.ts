import type { Logger } from '@keyfleet/log';
import { backoffDelay } from './backoff-delay.js';
import type { ResultBody } from './journal.js';

export interface ResultSenderOptions {
  /** Sends one result; resolves once the hub acknowledged it, throws with the reason otherwise. */
  deliver(taskId: string, result: ResultBody): Promise<void>;
  /** Records the acknowledgement (in the journal) so the result is never sent again. */
  acked(taskId: string): Promise<void>;
  log: Logger;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

interface Pending {
  result: ResultBody;
  attempt: number;
  timer?: NodeJS.Timeout;
  inFlight: boolean;
  /** Asked to send again while a send was in flight. */
  again: boolean;
}

/**
 * Sends each result until the hub acknowledges it, with capped exponential backoff
 * and jitter. While offline nothing is attempted; going online retries everything
 * at once, since a reconnect is exactly when the hub becomes reachable again.
 */
export class ResultSender {
  private readonly pending = new Map<string, Pending>();
  private online = false;
  private stopped = false;

  constructor(private readonly opts: ResultSenderOptions) {}

  get size(): number {
    return this.pending.size;
  }

  /** Starts delivering `result`, or re-sends it now if it is already pending. */
  send(taskId: string, result: ResultBody): void {
    const existing = this.pending.get(taskId);
    if (existing) {
      existing.result = result;
      this.sendNow(taskId, existing);
      return;
    }
    const p: Pending = { result, attempt: 0, inFlight: false, again: false };
    this.pending.set(taskId, p);
    this.sendNow(taskId, p);
  }

  setOnline(online: boolean): void {
    if (this.online === online) return;
    this.online = online;
    if (!online) return;
    for (const [taskId, p] of this.pending) {
      p.attempt = 0;
      this.sendNow(taskId, p);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
  }

  private sendNow(taskId: string, p: Pending): void {
    if (p.inFlight) {
      p.again = true;
      return;
    }
    clearTimeout(p.timer);
    p.timer = undefined;
    void this.attempt(taskId, p);
  }

  private async attempt(taskId: string, p: Pending): Promise<void> {
    if (this.stopped || !this.online) return;
    p.inFlight = true;
    p.again = false;
    try {
      await this.opts.deliver(taskId, p.result);
      this.pending.delete(taskId);
      await this.opts.acked(taskId).catch((err: Error) =>
        // The hub has the result; at worst it is sent once more after a restart and acked again.
        this.opts.log.error({ taskId, reason: err.message }, 'could not journal the result acknowledgement'),
      );
      return;
    } catch (err) {
      this.opts.log[p.attempt === 0 ? 'warn' : 'debug']({ taskId, attempt: p.attempt, reason: (err as Error).message }, 'result not acknowledged; will retry');
    } finally {
      p.inFlight = false;
    }
    if (this.stopped || !this.online) return;
    if (p.again) return this.attempt(taskId, p);
    const delay = backoffDelay(p.attempt++, this.opts.initialDelayMs ?? 1_000, this.opts.maxDelayMs ?? 30_000);
    p.timer = setTimeout(() => {
      p.timer = undefined;
      void this.attempt(taskId, p);
    }, delay);
  }
}
