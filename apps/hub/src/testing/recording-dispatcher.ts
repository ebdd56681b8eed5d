// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import type { TaskDispatcher } from '../api/api-deps.js';

/** Records what the API asked of the dispatcher; the real one needs NATS and agents. */
export class RecordingDispatcher implements TaskDispatcher {
  kicks = 0;
  cancels: { taskIds: string[]; reason: string }[] = [];
  kick(): void {
    this.kicks++;
  }
  async cancel(taskIds: string[], reason: string): Promise<void> {
    this.cancels.push({ taskIds, reason });
  }
}
