import type { Command } from 'commander';
import { createLogger } from '@keyfleet/log';
import { stateDirOption } from '../../../state-dir-option.js';
import { serveFront } from './front-server.js';
import { KeycloakFront } from './keycloak-front.js';

/** `keyfleet-agent front`: the process the agent starts to serve a docker-runtime Keycloak's public ports. */
export function frontCommand(program: Command): void {
  program
    .command('front', { hidden: true })
    .description('serve the public ports of a docker-runtime Keycloak (started by the agent itself)')
    .addOption(stateDirOption())
    .option('--close', 'close the running front of this state dir (Keycloak becomes unreachable) and exit', false)
    .action(async (o: { stateDir: string; close: boolean }) => {
      const log = createLogger('keyfleet-front');
      try {
        if (o.close) await KeycloakFront.for(o.stateDir, log).close();
        else await serveFront(o.stateDir, log);
      } catch (err) {
        log.fatal({ reason: (err as Error).message }, 'front could not run');
        process.exitCode = 1;
      }
    });
}
