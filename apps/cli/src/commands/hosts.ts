import { Command } from 'commander';
import { cliContext } from '../cli-context.js';
import { describeKeycloak, describeVerification } from '../describe-host-keycloak.js';
import { expectOk } from '../hub-client.js';

export function hostsCommand(): Command {
  const hosts = new Command('hosts').description('enrolled hosts');

  hosts
    .command('list')
    .description('list hosts')
    .option('--selector <labels>', 'only hosts with these labels, e.g. env=prod,region=eu')
    .option('--status <status>', 'pending | online | offline')
    .action(async (opts: { selector?: string; status?: 'pending' | 'online' | 'offline' }, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = await expectOk(await hub.v1.hosts.$get({ query: { selector: opts.selector, status: opts.status } }));
      output.table(body, body.items, [
        ['ID', (h) => h.id],
        ['HOSTNAME', (h) => h.hostname],
        ['STATUS', (h) => h.status],
        ['AGENT', (h) => h.agentVersion],
        [
          'KEYCLOAK',
          (h) => (h.keycloak?.installed ? `${h.keycloak.version} ${h.keycloak.ready ? 'ready' : 'not ready'}` : h.keycloak ? 'not installed' : null),
        ],
        ['VERIFIED', (h) => (h.lastVerification ? (h.lastVerification.ok ? 'ok' : 'FAILED') : null)],
        ['LAST HEARTBEAT', (h) => h.lastHeartbeatAt],
        [
          'LABELS',
          (h) =>
            Object.entries(h.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
        ],
      ]);
    });

  hosts
    .command('show <id>')
    .description('one host with its last heartbeat, Keycloak and last verification')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const h = await expectOk(await hub.v1.hosts[':id'].$get({ param: { id } }));
      output.details(h, [
        ['id', h.id],
        ['hostname', h.hostname],
        ['status', h.status],
        ['labels', h.labels],
        ['agent', h.agentVersion],
        ['proto', h.protoVersion],
        ['task types', h.taskTypes.join(', ')],
        ['enrolled', h.enrolledAt],
        ['last heartbeat', h.lastHeartbeatAt],
        ['heartbeat', h.lastHeartbeat],
        ['keycloak', describeKeycloak(h.keycloak)],
        ['verification', describeVerification(h.lastVerification)],
      ]);
    });

  return hosts;
}
