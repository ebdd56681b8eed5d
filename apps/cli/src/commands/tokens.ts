import { Command } from 'commander';
import { cliContext } from '../cli-context.js';
import type { CliFeature } from '../cli-feature.js';
import { expectOk } from '../hub-client.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function tokensCommand(features: readonly CliFeature[] = []): Command {
  const tokens = new Command('tokens').description('enrollment tokens (single use) for new hosts');
  const extras = features.flatMap((f) => (f.tokenExtras ? [f.tokenExtras] : []));

  const create = tokens
    .command('create')
    .description('create an enrollment token; it is shown once')
    .option('--label <k=v>', 'label every host enrolled with it gets (repeatable)', collect, [])
    .option('--ttl <seconds>', 'how long the token stays valid', '3600')
    .action(async (opts: { label: string[]; ttl: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const { hub, hubUrl, output } = ctx;
      const labels: Record<string, string> = {};
      for (const pair of opts.label) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new Error(`bad --label "${pair}": expected key=value`);
        labels[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const ttlSeconds = Number(opts.ttl);
      if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error(`bad --ttl "${opts.ttl}": expected a positive number of seconds`);
      const t = await expectOk(await hub.v1['enrollment-tokens'].$post({ json: { labels, ttlSeconds } }));
      const more = (await Promise.all(extras.map((e) => e.describe(ctx, t, opts)))).flat();
      output.details({ ...t, ...Object.fromEntries(more.map((m) => [m.key, m.value])) }, [
        ['id', t.id],
        ['token', t.token],
        ['expires', t.expiresAt],
        ['enroll with', `keyfleet-agent enroll --hub ${hubUrl} --token ${t.token}`],
        ...more.map((m): [string, string] => [m.label, m.value]),
      ]);
    });
  for (const option of extras.flatMap((e) => e.options)) create.addOption(option);

  tokens
    .command('list')
    .description('list enrollment tokens (never their secret)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = await expectOk(await hub.v1['enrollment-tokens'].$get());
      output.table(body, body.items, [
        ['ID', (t) => t.id],
        ['STATUS', (t) => t.status],
        ['LABELS', (t) => t.labels],
        ['EXPIRES', (t) => t.expiresAt],
        ['USED BY', (t) => t.usedByHost],
      ]);
    });

  tokens
    .command('revoke <id>')
    .description('revoke an unused enrollment token')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = await expectOk(await hub.v1['enrollment-tokens'][':id'].$delete({ param: { id } }));
      if (output.format === 'json') output.json(body);
      else output.line(`revoked ${id}`);
    });

  return tokens;
}
