import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { cliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { positiveInt } from '../../positive-int.js';
import { type LogEntry, logLineText } from './log-line-text.js';
import { logsClient } from './logs-client.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/**
 * `keyfleet logs --host H`: a host's Keycloak and agent log lines, oldest first. `--follow`
 * polls for newer ones (asking from the newest time seen, skipping the lines already printed
 * there); with `-o json` each line is one JSON object.
 */
export function logsCommand(): Command {
  return new Command('logs')
    .description('a host’s Keycloak and agent log lines (shipped by its agent), oldest first')
    .requiredOption('--host <host>', 'host id or hostname')
    .option('--since <duration>', 'how far back, e.g. 15m, 1h, 7d', '1h')
    .addOption(new Option('--level <level>', 'this level and worse').choices(LEVELS))
    .option('--grep <text>', 'lines containing this text (case-insensitive)')
    .option('--limit <n>', 'lines at most per request (1-5000)', (v) => positiveInt('--limit', v), 500)
    .option('-f, --follow', 'keep printing new lines')
    .option('--interval <seconds>', 'seconds between polls with --follow', (v) => positiveInt('--interval', v), 2)
    .action(
      async (
        opts: { host: string; since: string; level?: (typeof LEVELS)[number]; grep?: string; limit: number; follow?: boolean; interval: number },
        cmd: Command,
      ) => {
        const ctx = await cliContext(cmd);
        const json = ctx.output.format === 'json';
        const tty = process.stdout.isTTY === true;
        const fetchSince = async (since: string) =>
          expectOk(
            await logsClient(ctx).hosts[':id'].logs.$get({
              param: { id: opts.host },
              query: { since, limit: String(opts.limit), ...(opts.level ? { level: opts.level } : {}), ...(opts.grep ? { grep: opts.grep } : {}) },
            }),
          );
        const first = await fetchSince(opts.since);
        if (!opts.follow) {
          if (json) ctx.output.json(first);
          else for (const e of first.items) process.stdout.write(`${logLineText(e, tty)}\n`);
          return;
        }
        const print = (e: LogEntry) => process.stdout.write(`${json ? JSON.stringify(e) : logLineText(e, tty)}\n`);
        // Lines at the newest time seen may not all have arrived yet: that time is asked again and its printed lines skipped.
        let lastAt = '';
        let seen = new Set<string>();
        const show = (items: LogEntry[]) => {
          for (const e of items) {
            if (e.at === lastAt && seen.has(e.id)) continue;
            if (e.at !== lastAt) {
              lastAt = e.at;
              seen = new Set();
            }
            seen.add(e.id);
            print(e);
          }
        };
        show(first.items);
        for (;;) {
          await sleep(opts.interval * 1000);
          show((await fetchSince(lastAt || opts.since)).items);
        }
      },
    );
}
