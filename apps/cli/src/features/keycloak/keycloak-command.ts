import { Command } from 'commander';
import type { BatchDetail } from '../batch-detail.js';
import { cliContext, type CliContext } from '../cli-context.js';
import { keycloakSummary } from '../keycloak-summary.js';
import { parseTarget } from '../parse-target.js';
import { throwIfFailed } from '../print-batch.js';
import { readConfigFile } from '../read-config-file.js';
import { runAndFollow } from '../run-and-follow.js';

/** Each host's Keycloak as the finished tasks reported it; exit 1 if any host failed. */
function renderKeycloak(ctx: CliContext) {
  return (batch: BatchDetail): void => {
    ctx.output.table(
      batch,
      batch.tasks.map((t) => ({ hostId: t.hostId, state: t.state, ...keycloakSummary(t) })),
      [
        ['HOST', (r) => r.hostId],
        ['STATE', (r) => r.state],
        ['VERSION', (r) => r.version],
        ['RUNTIME', (r) => r.runtime],
        ['READY', (r) => (r.ready === undefined ? undefined : r.ready ? 'yes' : 'no')],
        ['REALMS', (r) => r.realms],
        ['DETAIL', (r) => r.detail],
      ],
    );
    throwIfFailed(batch);
  };
}

async function run(cmd: Command, type: string, opts: { target: string; wait?: boolean }, params: unknown = {}): Promise<void> {
  const ctx = await cliContext(cmd);
  await runAndFollow(ctx, { type, target: parseTarget(opts.target), params }, { wait: Boolean(opts.wait), render: renderKeycloak(ctx) });
}

const TARGET_HELP = 'host id | key=value[,key=value] | all';
const WAIT_HELP = 'follow until every host finished and show each host’s Keycloak; exit 1 if any failed';

export function keycloakCommand(): Command {
  const keycloak = new Command('keycloak').description('install, run, verify and update Keycloak on hosts');

  for (const [verb, description] of [
    ['install', 'install Keycloak as the config describes (idempotent), start it and verify it'],
    ['update', 'move Keycloak to the version or config described, verifying and rolling back on failure'],
  ] as const) {
    keycloak
      .command(verb)
      .description(description)
      .requiredOption('--target <target>', TARGET_HELP)
      .requiredOption('--config <file>', 'Keycloak config, YAML or JSON (secrets as {$secret: name}; store them with `keyfleet secrets set`)')
      .option('--wait', WAIT_HELP)
      .action(async (opts: { target: string; config: string; wait?: boolean }, cmd: Command) => {
        await run(cmd, `keycloak.${verb}`, opts, await readConfigFile(opts.config, 'Keycloak config'));
      });
  }

  keycloak
    .command('status')
    .description('version, runtime, readiness, uptime and realms of each host’s Keycloak (always waits)')
    .requiredOption('--target <target>', TARGET_HELP)
    .action(async (opts: { target: string }, cmd: Command) => run(cmd, 'keycloak.status', { ...opts, wait: true }));

  keycloak
    .command('verify')
    .description('check health, OIDC discovery, JWKS, TLS, the admin API and a real login')
    .requiredOption('--target <target>', TARGET_HELP)
    .option('--login <file>', 'the login to try, YAML or JSON: {grant: client_credentials, realm, clientId, clientSecret: {$secret: name}}')
    .option('--wait', WAIT_HELP)
    .action(async (opts: { target: string; login?: string; wait?: boolean }, cmd: Command) => {
      await run(cmd, 'keycloak.verify', opts, opts.login ? { login: await readConfigFile(opts.login, 'login') } : {});
    });

  for (const [verb, description] of [
    ['start', 'start the installed Keycloak and wait until it is ready'],
    ['stop', 'stop the installed Keycloak'],
    ['restart', 'restart the installed Keycloak and wait until it is ready'],
  ] as const) {
    keycloak
      .command(verb)
      .description(description)
      .requiredOption('--target <target>', TARGET_HELP)
      .option('--wait', WAIT_HELP)
      .action(async (opts: { target: string; wait?: boolean }, cmd: Command) => run(cmd, `keycloak.${verb}`, opts));
  }

  return keycloak;
}
