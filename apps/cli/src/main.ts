#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { CliExit } from './cli-exit.js';
import { hostsCommand } from './commands/hosts.js';
import { secretsCommand } from './commands/secrets.js';
import { tasksCommand } from './commands/tasks.js';
import { tokensCommand } from './commands/tokens.js';
import { cliFeatures } from './features/index.js';
import { HubError } from './hub-client.js';
import { TasksFailed } from './tasks-failed.js';

const program = new Command('keyfleet')
  .description('Operate a fleet of Keycloak hosts through the Keyfleet hub')
  .option('--hub <url>', 'hub URL (env KEYFLEET_HUB, default http://127.0.0.1:7420)')
  .option('--token <token>', 'API token (env KEYFLEET_TOKEN)')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
  .addCommand(hostsCommand(cliFeatures))
  .addCommand(tokensCommand(cliFeatures))
  .addCommand(tasksCommand())
  .addCommand(secretsCommand())
  .exitOverride()
  .showHelpAfterError();

for (const feature of cliFeatures) for (const command of feature.commands()) program.addCommand(command);

// Every command throws instead of exiting, so a usage error exits 2 like any other failed command.
const throwOnExit = (command: Command): void => {
  command.exitOverride();
  for (const sub of command.commands) throwOnExit(sub);
};
throwOnExit(program);

// Exit codes: 0 ok, 1 a task failed on some host, 2 the command itself failed
// (`realm plan --detailed-exitcode` reuses them terraform's way: 2 = changes, 1 = any error).
try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CliExit) {
    if (err.message) process.stderr.write(`${err.message}\n`);
    process.exitCode = err.code;
  } else if (err instanceof TasksFailed) {
    process.exitCode = 1;
  } else if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`error: ${err instanceof HubError || err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
