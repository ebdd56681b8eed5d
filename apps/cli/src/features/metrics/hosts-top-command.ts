import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { cliContext } from '../../cli-context.js';
import { positiveInt } from '../../positive-int.js';
import { fleetTop } from './fleet-top.js';
import { renderTop } from './render-top.js';

// Cursor home + clear screen: each frame replaces the last instead of scrolling.
const CLEAR = '\x1b[H\x1b[2J';

/**
 * `keyfleet hosts top`: CPU, memory, disk, logins and failures per minute, p95 latency,
 * certificate days left and backup age per host, busiest first. Redraws every interval on a
 * terminal; prints one frame when piped or with `-o json`.
 */
export function hostsTopCommand(): Command {
  return new Command('top')
    .description('live table of the fleet: CPU, memory, disk, logins/min, failures/min, p95, certificate days left, backup age')
    .option('--selector <labels>', 'only hosts with these labels, e.g. env=prod,role=web')
    .option('--limit <n>', 'hosts shown at most, busiest CPU first', (v) => positiveInt('--limit', v), 30)
    .option('--interval <seconds>', 'seconds between refreshes on a terminal', (v) => positiveInt('--interval', v), 5)
    .option('--once', 'print one frame even on a terminal')
    .action(async (opts: { selector?: string; limit: number; interval: number; once?: boolean }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const frame = () => fleetTop(ctx, { selector: opts.selector, limit: opts.limit });
      if (ctx.output.format === 'json') return ctx.output.json({ items: await frame() });
      if (!process.stdout.isTTY || opts.once) {
        process.stdout.write(`${renderTop(await frame()).join('\n')}\n`);
        return;
      }
      const stop = new AbortController();
      const quit = () => stop.abort();
      process.once('SIGINT', quit);
      try {
        while (!stop.signal.aborted) {
          const lines = renderTop(await frame());
          const header = `keyfleet hosts top — ${new Date().toLocaleTimeString()} — every ${opts.interval}s, Ctrl-C to quit`;
          process.stdout.write(`${CLEAR}${header}\n\n${lines.slice(0, Math.max(3, (process.stdout.rows ?? 40) - 3)).join('\n')}\n`);
          await sleep(opts.interval * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
        }
      } finally {
        process.off('SIGINT', quit);
      }
    });
}
