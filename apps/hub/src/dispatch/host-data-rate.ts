import type { Logger } from '@keyfleet/log';

interface Bucket {
  /** Bytes the host may still send right now. */
  allowance: number;
  at: number;
  dropped: number;
  droppedBytes: number;
  warnedAt: number;
}

const WARN_EVERY_MS = 60_000;

/**
 * Admits each agent's messages up to its data rate (a token bucket per host: `data` bytes per
 * second, up to `dataBurstBytes` at once) and drops the rest before they are decoded, so a
 * compromised or broken agent cannot make the hub parse and store without end. nats-server
 * enforces an agent's payload and subscription limits but not `data`, hence this. Dropping
 * loses nothing an agent cares about: it re-sends results until acknowledged, and the next
 * heartbeat replaces a dropped one. Per hub process: with several hubs, each admits its share.
 */
export class HostDataRate {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: { data: number; dataBurstBytes: number },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `bytes` from `hostId` fit now (they are then counted); a drop is logged at most once a minute per host. */
  admit(hostId: string, bytes: number): boolean {
    const now = this.now();
    let b = this.buckets.get(hostId);
    if (!b) {
      b = { allowance: this.limits.dataBurstBytes, at: now, dropped: 0, droppedBytes: 0, warnedAt: 0 };
      this.buckets.set(hostId, b);
    }
    b.allowance = Math.min(this.limits.dataBurstBytes, b.allowance + ((now - b.at) / 1000) * this.limits.data);
    b.at = now;
    if (bytes <= b.allowance) {
      b.allowance -= bytes;
      return true;
    }
    b.dropped++;
    b.droppedBytes += bytes;
    if (now - b.warnedAt >= WARN_EVERY_MS) {
      this.log.warn(
        { hostId, dropped: b.dropped, droppedBytes: b.droppedBytes, bytesPerSecond: this.limits.data, burstBytes: this.limits.dataBurstBytes },
        'dropping messages from an agent over its data rate',
      );
      b.warnedAt = now;
      b.dropped = 0;
      b.droppedBytes = 0;
    }
    return false;
  }
}
