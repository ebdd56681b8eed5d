import type { Command } from 'commander';
import { stateDirOption } from '../../../state-dir-option.js';
import { watchUpgrade } from './upgrade-watch.js';

/** `upgrade-watch`: the watchdog `agent.upgrade` leaves behind (hidden; started by the agent itself). */
export function upgradeCommands(program: Command): void {
  program
    .command('upgrade-watch', { hidden: true })
    .description('watch an upgrade of this agent and roll it back if the new one does not report to the hub in time')
    .addOption(stateDirOption())
    .action(async (o: { stateDir: string }) => {
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} upgrade-watch: ${line}\n`);
      try {
        await watchUpgrade(o.stateDir, log);
      } catch (err) {
        log((err as Error).message);
        process.exitCode = 1;
      }
    });
}
