import { Command, Option } from 'commander';
import { cliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { alertsClient } from './alerts-client.js';

const collectMatcher = (v: string, prev: Record<string, string>) => {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new Error(`--match ${v}: expected label=value`);
  return { ...prev, [v.slice(0, eq)]: v.slice(eq + 1) };
};

/** `keyfleet alerts list|ack|silence|silences`. */
export function alertsCommand(): Command {
  const alerts = new Command('alerts').description('alerts the hub raised: list, acknowledge, silence');

  alerts
    .command('list')
    .description('open alerts (pending and firing) unless --state says otherwise')
    .addOption(new Option('--state <state>', 'which alerts').choices(['open', 'pending', 'firing', 'resolved', 'all']).default('open'))
    .action(async (opts: { state: 'open' | 'pending' | 'firing' | 'resolved' | 'all' }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await alertsClient(ctx).alerts.$get({ query: { state: opts.state } }));
      ctx.output.table(body, body.items, [
        ['ID', (a) => a.id],
        ['STATE', (a) => a.state],
        ['SEVERITY', (a) => a.severity],
        ['RULE', (a) => a.rule],
        ['HOST', (a) => a.hostname],
        ['SINCE', (a) => a.firedAt ?? a.startedAt],
        ['ACKED', (a) => (a.ackedBy ? `${a.ackedBy}: ${a.ackNote ?? ''}` : '')],
        ['SUMMARY', (a) => a.summary],
      ]);
    });

  alerts
    .command('ack <id>')
    .description('acknowledge an alert (who and the note are kept and audited)')
    .option('--note <text>', 'why', '')
    .action(async (id: string, opts: { note: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const a = await expectOk(await alertsClient(ctx).alerts[':id'].ack.$post({ param: { id }, json: { note: opts.note } }));
      ctx.output.details(a, [
        ['id', a.id],
        ['acked by', a.ackedBy],
        ['note', a.ackNote],
      ]);
    });

  alerts
    .command('silence')
    .description('silence notifications of matching alerts (labels, rule, host, hostname, severity)')
    .requiredOption('--match <label=value>', 'a matcher (repeat)', collectMatcher, {})
    .requiredOption('--for <duration>', 'how long, e.g. 2h')
    .requiredOption('--comment <text>', 'why')
    .action(async (opts: { match: Record<string, string>; for: string; comment: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const s = await expectOk(await alertsClient(ctx).silences.$post({ json: { matchers: opts.match, duration: opts.for, comment: opts.comment } }));
      ctx.output.details(s, [
        ['id', s.id],
        ['matchers', s.matchers],
        ['expires', s.expiresAt],
      ]);
    });

  alerts
    .command('silences')
    .description('silences in force')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await alertsClient(ctx).silences.$get());
      ctx.output.table(body, body.items, [
        ['ID', (s) => s.id],
        ['MATCHERS', (s) => s.matchers],
        ['EXPIRES', (s) => s.expiresAt],
        ['BY', (s) => s.createdBy],
        ['COMMENT', (s) => s.comment],
      ]);
    });
  return alerts;
}
