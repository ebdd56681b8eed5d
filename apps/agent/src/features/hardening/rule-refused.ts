/** A rule that declined to change the host (a guard, or the dead-man switch put the old state back). */
export class RuleRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleRefused';
  }
}
