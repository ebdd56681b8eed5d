import type { z } from 'zod';
import type { Logger } from '@keyfleet/log';
import type { taskDefinitions, TaskName } from '@keyfleet/proto/v1';
import { noop } from './noop.js';
import { systemInfo } from './system-info.js';

export interface TaskContext {
  /** Aborted on cancel, timeout or agent shutdown; handlers must stop promptly. */
  signal: AbortSignal;
  progress(percent?: number, message?: string): void;
  log: Logger;
}

export type TaskHandler<K extends TaskName> = (
  input: z.output<(typeof taskDefinitions)[K]['input']>,
  ctx: TaskContext,
) => Promise<z.input<(typeof taskDefinitions)[K]['output']>>;

/** One handler per declared task type: declaring a type in proto without a handler here fails the type check. */
export type Handlers = { [K in TaskName]: TaskHandler<K> };

export const handlers: Handlers = {
  noop,
  'system.info': systemInfo,
};
