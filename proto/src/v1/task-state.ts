import { z } from 'zod';

/** A task's life on the hub: queued → dispatched → running → one of the terminal states. */
export const taskState = z.enum(['queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'expired']);

export type TaskState = z.infer<typeof taskState>;

export const terminalTaskStates: readonly TaskState[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export function isTerminalTaskState(state: TaskState): boolean {
  return terminalTaskStates.includes(state);
}
