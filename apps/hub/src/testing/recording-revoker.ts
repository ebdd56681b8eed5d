// Test support: only tests import apps/hub/src/testing/; the hub itself never does.

/** Counts the pushes the API asked for; `enforced` is what they report (the real one needs NATS). */
export class RecordingRevoker {
  publishes = 0;
  enforced = true;
  async publish(): Promise<boolean> {
    this.publishes++;
    return this.enforced;
  }
}
