import { keycloakConfig, type TaskName, taskDefinitions, verifyLogin } from '@keyfleet/proto/v1';
import { Command } from 'commander';
import type { BatchDetail } from '../../batch-detail.js';
import { type CliContext, cliContext } from '../../cli-context.js';
import { parseTarget } from '../../parse-target.js';
import { throwIfFailed } from '../../print-batch.js';
import { readConfigFile } from '../../read-config-file.js';
import { runAndFollow } from '../../run-and-follow.js';
import type { TaskRequest } from '../../task-request.js';

/** Each host's state and the declared one-line summary of its result; exit 1 if any host failed. */
function renderKeycloak(ctx: CliContext) {
  return (batch: BatchDetail): void => {
    ctx.output.table(batch, batch.tasks, [
      ['HOST', (t) => t.hostId],
      ['STATE', (t) => t.state],
      ['KEYCLOAK', (t) => t.summary],
    ]);
    throwIfFailed(batch);
  };
}

async function run<K extends TaskName>(cmd: Command, type: K, opts: { target: string; wait?: boolean }, params: TaskRequest<K>['params']): Promise<void> {
  const ctx = await cliContext(cmd);
  await runAndFollow(ctx, { type, target: parseTarget(opts.target), params }, { wait: Boolean(opts.wait), render: renderKeycloak(ctx) });
}

const TARGET_HELP = 'host id | key=value[,key=value] | all';
const WAIT_HELP = 'follow until every host finished and show each host’s Keycloak; exit 1 if any failed';
const CONFIG_HELP = 'Keycloak config, YAML or JSON (secrets as {$secret: name}; store them with `keyfleet secrets set`)';

export function keycloakCommand(): Command {
  const keycloak = new Command('keycloak').description('install, run, verify and update Keycloak on hosts');

  for (const type of ['keycloak.install', 'keycloak.update'] as const) {
    keycloak
      .command(type.slice('keycloak.'.length))
      .description(taskDefinitions[type].description)
      .requiredOption('--target <target>', TARGET_HELP)
      .requiredOption('--config <file>', CONFIG_HELP)
      .option('--wait', WAIT_HELP)
      .action(async (opts: { target: string; config: string; wait?: boolean }, cmd: Command) => {
        const config = await readConfigFile(opts.config, 'Keycloak config', keycloakConfig);
        await run(cmd, type, opts, config);
        const certificate = config.tls?.certificate;
        // The hub asks for it once the task succeeds (see the tls feature): say where to watch it.
        if (certificate)
          (await cliContext(cmd)).output.line(
            `certificate for ${certificate.domains.join(', ')} on port ${config.tls?.httpsPort}: the hub issues it once Keycloak is ${type === 'keycloak.install' ? 'installed' : 'updated'}; follow with \`keyfleet certs list --host <host>\``,
          );
      });
  }

  keycloak
    .command('status')
    .description(`${taskDefinitions['keycloak.status'].description} (always waits)`)
    .requiredOption('--target <target>', TARGET_HELP)
    .action(async (opts: { target: string }, cmd: Command) => run(cmd, 'keycloak.status', { ...opts, wait: true }, {}));

  keycloak
    .command('verify')
    .description(taskDefinitions['keycloak.verify'].description)
    .requiredOption('--target <target>', TARGET_HELP)
    .option('--login <file>', 'the login to try, YAML or JSON: {grant: client_credentials, realm, clientId, clientSecret: {$secret: name}}')
    .option('--wait', WAIT_HELP)
    .action(async (opts: { target: string; login?: string; wait?: boolean }, cmd: Command) => {
      await run(cmd, 'keycloak.verify', opts, opts.login ? { login: await readConfigFile(opts.login, 'login', verifyLogin) } : {});
    });

  for (const type of ['keycloak.start', 'keycloak.stop', 'keycloak.restart'] as const) {
    keycloak
      .command(type.slice('keycloak.'.length))
      .description(taskDefinitions[type].description)
      .requiredOption('--target <target>', TARGET_HELP)
      .option('--wait', WAIT_HELP)
      .action(async (opts: { target: string; wait?: boolean }, cmd: Command) => run(cmd, type, opts, {}));
  }

  return keycloak;
}
