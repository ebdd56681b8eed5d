import { Command } from 'commander';
import { cliContext } from '../../cli-context.js';
import { CliExit } from '../../cli-exit.js';
import { expectOk } from '../../hub-client.js';
import { alertsClient } from './alerts-client.js';

/** `keyfleet channels add|test|list`. */
export function channelsCommand(): Command {
  const channels = new Command('channels').description('where alert notifications go (webhooks, HMAC-signed)');

  channels
    .command('add <name>')
    .description('create or replace a webhook channel')
    .requiredOption('--url <url>', 'the webhook URL')
    .option('--secret <name>', 'hub secret (keyfleet secrets set) keying the x-keyfleet-signature HMAC')
    .action(async (name: string, opts: { url: string; secret?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const c = await expectOk(
        await alertsClient(ctx).channels[':name'].$put({
          param: { name },
          json: { kind: 'webhook', url: opts.url, ...(opts.secret ? { secret: opts.secret } : {}) },
        }),
      );
      ctx.output.details(c, [
        ['name', c.name],
        ['url', c.url],
        ['secret', c.secret],
      ]);
    });

  channels
    .command('test <name>')
    .description('send a test notification now; exit 1 when the channel refuses it')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const r = await expectOk(await alertsClient(ctx).channels[':name'].test.$post({ param: { name } }));
      if (!r.ok) throw new CliExit(1, `channel ${name} refused the test: ${r.error}`);
      ctx.output.details(r, [['delivered', 'yes']]);
    });

  channels
    .command('list')
    .description('channels')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await alertsClient(ctx).channels.$get());
      ctx.output.table(body, body.items, [
        ['NAME', (c) => c.name],
        ['KIND', (c) => c.kind],
        ['URL', (c) => c.url],
        ['SECRET', (c) => c.secret],
      ]);
    });
  return channels;
}
