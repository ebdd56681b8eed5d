import { Command, Option } from 'commander';
import { cliContext } from '../../cli-context.js';
import { CliExit } from '../../cli-exit.js';
import { expectOk } from '../../hub-client.js';
import { positiveInt } from '../../positive-int.js';
import { alertsClient } from './alerts-client.js';

type AddOptions = {
  kind: 'webhook' | 'slack' | 'email';
  url?: string;
  secret?: string;
  urlSecret?: string;
  smtpHost?: string;
  smtpPort?: number;
  security: 'starttls' | 'tls' | 'none';
  username?: string;
  passwordSecret?: string;
  from?: string;
  to: string[];
};

const need = (value: string | undefined, flag: string, kind: string) => {
  if (!value) throw new CliExit(2, `a ${kind} channel needs ${flag}`);
  return value;
};

/** The channel body for the kind: the hub validates it and names a bad field. */
function channelBody(o: AddOptions) {
  if (o.kind === 'webhook') return { kind: 'webhook' as const, url: need(o.url, '--url', 'webhook'), ...(o.secret ? { secret: o.secret } : {}) };
  if (o.kind === 'slack') return { kind: 'slack' as const, urlSecret: need(o.urlSecret, '--url-secret', 'slack') };
  return {
    kind: 'email' as const,
    host: need(o.smtpHost, '--smtp-host', 'email'),
    ...(o.smtpPort ? { port: o.smtpPort } : {}),
    security: o.security,
    ...(o.username ? { username: o.username } : {}),
    ...(o.passwordSecret ? { passwordSecret: o.passwordSecret } : {}),
    from: need(o.from, '--from', 'email'),
    to: o.to.length > 0 ? o.to : [need(undefined, '--to', 'email')],
  };
}

/** `keyfleet channels add|test|list|delete`. */
export function channelsCommand(): Command {
  const channels = new Command('channels').description('where alert notifications go: webhooks (HMAC-signed), Slack and email (SMTP)');

  channels
    .command('add <name>')
    .description('create or replace a channel; secrets are named hub secrets (keyfleet secrets set), never given here')
    .addOption(new Option('--kind <kind>', 'channel kind').choices(['webhook', 'slack', 'email']).default('webhook'))
    .option('--url <url>', 'webhook: the URL')
    .option('--secret <name>', 'webhook: hub secret keying the x-keyfleet-signature HMAC')
    .option('--url-secret <name>', 'slack: hub secret holding the incoming-webhook URL (the URL is the credential)')
    .option('--smtp-host <host>', 'email: SMTP server')
    .option('--smtp-port <port>', 'email: SMTP port (default 587)', (v: string) => positiveInt('--smtp-port', v))
    .addOption(
      new Option('--security <mode>', 'email: starttls (required upgrade), tls (from the first byte, port 465), none')
        .choices(['starttls', 'tls', 'none'])
        .default('starttls'),
    )
    .option('--username <user>', 'email: SMTP user')
    .option('--password-secret <name>', 'email: hub secret holding the SMTP password')
    .option('--from <address>', 'email: sender')
    .option('--to <address>', 'email: recipient (repeat)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (name: string, opts: AddOptions, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const c = await expectOk(await alertsClient(ctx).channels[':name'].$put({ param: { name }, json: channelBody(opts) }));
      ctx.output.details(c, [
        ['name', c.name],
        ['kind', c.kind],
        ['target', c.target],
        ['secrets', c.secrets.join(', ')],
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
    .description('channels, with their last delivery and last failure')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await alertsClient(ctx).channels.$get());
      ctx.output.table(body, body.items, [
        ['NAME', (c) => c.name],
        ['KIND', (c) => c.kind],
        ['TARGET', (c) => c.target],
        ['SECRETS', (c) => c.secrets.join(',')],
        ['LAST SENT', (c) => c.lastSentAt],
        ['LAST ERROR', (c) => (c.lastError ? `${c.lastErrorAt} ${c.lastError}` : '')],
      ]);
    });
  channels
    .command('delete <name>')
    .description('delete a channel (notifications still queued for it fail, naming it)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const c = await expectOk(await alertsClient(ctx).channels[':name'].$delete({ param: { name } }));
      ctx.output.details(c, [['deleted', c.name]]);
    });
  return channels;
}
