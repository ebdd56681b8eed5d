/** Exit code 1 when any host's task did not succeed; the CLI's contract for scripts. */
export class TasksFailed extends Error {
  constructor(readonly failed: number) {
    super(`${failed} task(s) did not succeed`);
  }
}
