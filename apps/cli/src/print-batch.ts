import { isTerminalTaskState } from '@keyfleet/proto/v1';
import type { BatchDetail } from './batch-detail.js';
import type { Output } from './output.js';
import { TasksFailed } from './tasks-failed.js';

/** Each host's state, duration and result (or error); throws TasksFailed if any host did not succeed. */
export function printBatch(output: Output, body: BatchDetail): void {
  output.table(body, body.tasks, [
    ['HOST', (t) => t.hostId],
    ['STATE', (t) => t.state],
    ['SECONDS', (t) => (t.startedAt && t.finishedAt ? ((Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000).toFixed(2) : null)],
    ['RESULT', (t) => t.summary],
  ]);
  throwIfFailed(body);
}

export function throwIfFailed(body: BatchDetail): void {
  const failed = body.tasks.filter((t) => isTerminalTaskState(t.state) && t.state !== 'succeeded').length;
  if (failed) throw new TasksFailed(failed);
}
