/** How far back the throughput looks: long enough to smooth one-second reports, short enough to follow a stall. */
const WINDOW_MS = 10_000;

/**
 * Throughput of one transfer from its byte reports (bytes so far, at a time): bytes per second
 * over the last WINDOW_MS of reports. Times are the reports' own (the hub's), not this process's
 * clock, so a late or batched delivery of events does not make a burst.
 */
export class TransferRate {
  private readonly samples: Array<{ at: number; bytes: number }> = [];

  add(bytes: number, at: number): void {
    const last = this.samples.at(-1);
    // A restarted count (a retried task) starts a new transfer.
    if (last && (bytes < last.bytes || at < last.at)) this.samples.length = 0;
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= WINDOW_MS) this.samples.shift();
  }

  /** Bytes per second; undefined until two reports span some time. */
  perSecond(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at <= first.at) return undefined;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}
