/** What `kc.sh update-compatibility` allows: a rolling update, a stop-then-start, or it could not tell. */
export type CompatVerdict = 'rolling' | 'recreate' | 'unavailable';

const UNKNOWN_COMMAND = /Unknown (sub)?command|Unmatched argument|not a valid (sub)?command/i;

/**
 * Reads the exit of `kc.sh update-compatibility metadata|check`: 0 = fine (for check: a rolling
 * update is possible), 3 = recreate needed (check), a Keycloak without the command = unavailable.
 * Anything else is a config the Keycloak rejects, which must stop the update before it touches
 * anything, so it throws with the command's last lines.
 */
export function compatVerdict(step: 'metadata' | 'check', code: number, output: string): CompatVerdict {
  if (code === 0) return 'rolling';
  if (UNKNOWN_COMMAND.test(output)) return 'unavailable';
  if (step === 'check' && code === 3) return 'recreate';
  const tail = output
    .trim()
    .split('\n')
    .filter((l) => !/^\s+at /.test(l))
    .slice(-8)
    .join('\n');
  throw new Error(`kc.sh update-compatibility ${step} failed (exit ${code}):\n${tail}`);
}
