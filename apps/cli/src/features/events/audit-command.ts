import { Command, Option } from 'commander';
import { cliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { positiveInt } from '../../positive-int.js';
import { auditTrailClient } from './audit-trail-client.js';

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').filter((k) => k !== '')];

/**
 * `keyfleet audit`: who changed what, where and through which path, newest first — calls to the
 * hub, task runs, and the admin and login events of every managed Keycloak, in one list.
 */
export function auditCommand(): Command {
  return new Command('audit')
    .description('the audit trail: hub API calls, task runs, Keycloak admin and login events, newest first')
    .option('--host <host>', 'host id or hostname')
    .option('--realm <realm>', 'Keycloak realm')
    .addOption(new Option('--kind <kind>', 'api, task, admin or login (repeat, or comma-separated)').argParser(collect).default([]))
    .option('--actor <text>', 'part of the actor’s name')
    .option('--since <duration>', 'how far back, e.g. 15m, 1h, 7d', '7d')
    .option('--limit <n>', 'entries at most (1-1000)', (v) => positiveInt('--limit', v), 100)
    .action(async (opts: { host?: string; realm?: string; kind: string[]; actor?: string; since: string; limit: number }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(
        await auditTrailClient(ctx).audit.trail.$get({
          query: {
            since: opts.since,
            limit: String(opts.limit),
            ...(opts.host ? { host: opts.host } : {}),
            ...(opts.realm ? { realm: opts.realm } : {}),
            ...(opts.kind.length > 0 ? { kind: opts.kind.join(',') } : {}),
            ...(opts.actor ? { actor: opts.actor } : {}),
          },
        }),
      );
      ctx.output.table(body, body.items, [
        ['AT', (e) => e.at.replace(/\.\d+Z$/, 'Z')],
        ['KIND', (e) => e.kind],
        ['HOST', (e) => e.hostname ?? e.hostId],
        ['REALM', (e) => e.realm],
        ['ACTOR', (e) => e.actor],
        ['ACTION', (e) => e.action],
        ['TARGET', (e) => e.target],
        ['OUTCOME', (e) => e.outcome],
        ['DETAIL', (e) => summary(e.detail)],
      ]);
    });
}

/** The detail as `key=value` pairs on one line, so a row stays one line. */
function summary(detail: Record<string, unknown> | null): string {
  if (!detail) return '';
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
