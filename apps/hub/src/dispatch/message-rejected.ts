import type { Rejection } from '@keyfleet/proto/v1';

/** Thrown by a message handler to refuse an agent's message; the reason (and code) go back to the agent. */
export class MessageRejected extends Error {
  constructor(
    readonly reason: string,
    readonly code?: Rejection['code'],
  ) {
    super(reason);
    this.name = 'MessageRejected';
  }
}
