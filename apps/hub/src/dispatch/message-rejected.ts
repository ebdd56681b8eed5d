/** Thrown by a message handler to refuse an agent's message; the reason goes back to the agent. */
export class MessageRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'MessageRejected';
  }
}
