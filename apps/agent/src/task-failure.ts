import type { TaskError } from '@keyfleet/proto/v1';

/**
 * Thrown by a handler to fail its task with a specific code; any other error fails the
 * task as `handler_error`. E.g. a secret the hub did not resolve is the caller's input
 * problem (`invalid_input`), not the handler's.
 */
export class TaskFailure extends Error {
  constructor(
    readonly code: Extract<TaskError['code'], 'invalid_input' | 'handler_error'>,
    message: string,
  ) {
    super(message);
    this.name = 'TaskFailure';
  }
}
