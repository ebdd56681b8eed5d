import { noop } from './noop.js';
import { systemInfo } from './system-info.js';

/** Every declared task type, keyed by its dotted name. Adding a task means adding it here. */
export const taskDefinitions = {
  [noop.name]: noop,
  [systemInfo.name]: systemInfo,
} as const;

export type TaskName = keyof typeof taskDefinitions;

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(taskDefinitions, name);
}
