import { Command } from 'commander';
import { cliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { metricsClient } from './metrics-client.js';
import { sparkline } from './sparkline.js';

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').filter((n) => n !== '')];

const compact = (v: number) =>
  Math.abs(v) >= 1e9
    ? `${(v / 1e9).toFixed(1)}G`
    : Math.abs(v) >= 1e6
      ? `${(v / 1e6).toFixed(1)}M`
      : Math.abs(v) >= 1e3
        ? `${(v / 1e3).toFixed(1)}k`
        : v.toFixed(v % 1 === 0 ? 0 : 2);

/** `keyfleet hosts metrics <id>`: a host's metric history, a sparkline per series (JSON with -o json). */
export function hostsMetricsCommand(): Command {
  return new Command('metrics')
    .description('metric history of a host: one sparkline per series (counters as per-second rates)')
    .argument('<id>', 'host id or hostname')
    .option('--name <names>', 'metric name (repeat, or comma-separated); default every series', collect, [])
    .option('--since <duration>', 'how far back, e.g. 15m, 1h, 7d', '1h')
    .option('--step <duration>', 'one point per step, e.g. 1m (default: ~240 points)')
    .action(async (id: string, opts: { name: string[]; since: string; step?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(
        await metricsClient(ctx).hosts[':id'].metrics.$get({
          param: { id },
          query: { since: opts.since, ...(opts.name.length > 0 ? { names: opts.name.join(',') } : {}), ...(opts.step ? { step: opts.step } : {}) },
        }),
      );
      ctx.output.table(body, body.series, [
        ['SERIES', (s) => (s.kind === 'rate' ? `rate(${s.key})` : s.key)],
        ['LAST', (s) => (s.points.length > 0 ? compact(s.points.at(-1)![1]) : '-')],
        ['MIN', (s) => (s.points.length > 0 ? compact(Math.min(...s.points.map((p) => p[1]))) : '-')],
        ['MAX', (s) => (s.points.length > 0 ? compact(Math.max(...s.points.map((p) => p[1]))) : '-')],
        [`LAST ${opts.since} (step ${body.stepSec}s)`, (s) => sparkline(s.points.map((p) => p[1]))],
      ]);
    });
}
