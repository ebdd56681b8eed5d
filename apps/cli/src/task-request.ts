import type { TaskDefinitions, TaskName } from '@keyfleet/proto/v1';
import type { z } from 'zod';
import type { Target } from './parse-target.js';

/** A `POST /v1/tasks` body for task type K, with K's declared input as `params`. */
export interface TaskRequest<K extends TaskName = TaskName> {
  type: K;
  target: Target;
  params?: z.input<TaskDefinitions[K]['input']>;
  timeoutMs?: number;
  expiresInMs?: number;
}

/** Any task's request: the union `POST /v1/tasks` takes, one member per declared type. */
export type AnyTaskRequest = { [K in TaskName]: TaskRequest<K> }[TaskName];
