import { Command } from 'commander';
import { cliContext } from '../cli-context.js';
import type { CliFeature } from '../cli-feature.js';
import { expectOk } from '../hub-client.js';

export function hostsCommand(features: readonly CliFeature[]): Command {
  const facts = features.flatMap((f) => (f.hostFacts ? [f.hostFacts] : []));
  const hosts = new Command('hosts').description('enrolled hosts');
  for (const f of features) for (const c of f.hostCommands?.() ?? []) hosts.addCommand(c);

  hosts
    .command('list')
    .description('list hosts')
    .option('--selector <labels>', 'only hosts with these labels, e.g. env=prod,region=eu')
    .option('--status <status>', 'pending | online | offline')
    .action(async (opts: { selector?: string; status?: 'pending' | 'online' | 'offline' }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const { hub, output } = ctx;
      const body = await expectOk(await hub.v1.hosts.$get({ query: { selector: opts.selector, status: opts.status } }));
      const loaded = await Promise.all(facts.map(async (f) => ({ f, cells: await f.load(ctx, opts.selector) })));
      const featureColumns = loaded.flatMap(({ f, cells }) =>
        f.headers.map((header, i): [string, (h: (typeof body.items)[number]) => unknown] => [header, (h) => cells.get(h.id)?.[i]]),
      );
      output.table(body, body.items, [
        ['ID', (h) => h.id],
        ['HOSTNAME', (h) => h.hostname],
        ['STATUS', (h) => h.status],
        ['AGENT', (h) => h.agentVersion],
        ...featureColumns,
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
      const ctx = await cliContext(cmd);
      const { hub, output } = ctx;
      const h = await expectOk(await hub.v1.hosts[':id'].$get({ param: { id } }));
      const featureDetails = (await Promise.all(facts.map((f) => f.details(ctx, id)))).flat();
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
        ...featureDetails,
      ]);
    });

  hosts
    .command('revoke <id>')
    .description("revoke a host's NATS credential: its agent is disconnected and refused; the host stays listed")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const r = await expectOk(await hub.v1.hosts[':id'].revoke.$post({ param: { id } }));
      if (output.format === 'json') output.json(r);
      else output.line(revocationLine(`revoked the credential of ${r.id} (${r.hostname})`, r));
    });

  hosts
    .command('decommission <id>')
    .description("cancel a host's live tasks, revoke its NATS credential and delete it with its task history")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const r = await expectOk(await hub.v1.hosts[':id'].$delete({ param: { id } }));
      if (output.format === 'json') output.json(r);
      else output.line(revocationLine(`decommissioned ${r.id} (${r.hostname}), ${r.deletedTasks} task(s) deleted`, r));
    });

  return hosts;
}

/** Whether NATS already refuses the agent: the hub keeps pushing the revocation until it does. */
function revocationLine(done: string, r: { credentialRevokedAt: string; revocationEnforced: boolean }): string {
  return r.revocationEnforced
    ? `${done}; NATS refuses its agent since ${r.credentialRevokedAt}`
    : `${done}; NATS does not refuse its agent yet (the hub keeps trying; see the hub log)`;
}
