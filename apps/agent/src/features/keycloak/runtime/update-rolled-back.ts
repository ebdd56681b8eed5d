/** An update that failed after it started changing things, and put the old instance back. */
export class UpdateRolledBack extends Error {
  constructor(readonly reason: string) {
    super(`update rolled back: ${reason}`);
    this.name = 'UpdateRolledBack';
  }
}
