import type { z } from 'zod';
import type { Logger } from '@keyfleet/log';
import type { taskDefinitions, TaskName } from '@keyfleet/proto/v1';

export interface TaskContext {
  /** Aborted on cancel, timeout or agent shutdown; handlers must stop promptly. */
  signal: AbortSignal;
  progress(percent?: number, message?: string): void;
  log: Logger;
  /** The agent's state directory (0700); handlers keep their host-local state below it. */
  stateDir: string;
}

/** Runs one task type: gets the input as its declaration parsed it, returns what its output schema accepts. */
export type TaskHandler<K extends TaskName> = (
  input: z.output<(typeof taskDefinitions)[K]['input']>,
  ctx: TaskContext,
) => Promise<z.input<(typeof taskDefinitions)[K]['output']>>;

/** One handler per declared task type: a type declared in proto without a handler here fails the type check. */
export type Handlers = { [K in TaskName]: TaskHandler<K> };
