import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How to run this agent's own program again with `args` (e.g. a detached helper process that
 * must outlive the agent): the bundle runs itself; from source (dev, tests) main.ts runs through tsx.
 */
export function selfCommand(args: string[]): { argv: string[]; cwd: string } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.mjs')) return { argv: [...process.execArgv, self, ...args], cwd: dirname(self) };
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  return { argv: ['--import', 'tsx', main, ...args], cwd: dirname(main) };
}
