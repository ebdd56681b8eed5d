import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { cliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { readConfigFile } from '../../read-config-file.js';
import { alertsClient } from './alerts-client.js';

/** The CLI checks only the shape it needs; the hub validates the rule and names a bad field. */
const ruleFile = z.object({ name: z.string().min(1) }).passthrough();

/** 95 s → "1m35s": how long a stretch lasted, at a glance. */
function formatSpan(ms: number): string {
  const sec = Math.round(ms / 1000);
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec % 60}s`;
}

/** `keyfleet alert-rules list|apply|test`. */
export function alertRulesCommand(): Command {
  const rules = new Command('alert-rules').description('alert rules as data: built-in and applied');

  rules
    .command('list')
    .description('every rule at its current version')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await alertsClient(ctx)['alert-rules'].$get());
      ctx.output.table(body, body.items, [
        ['NAME', (r) => r.name],
        ['VERSION', (r) => r.version],
        ['BUILTIN', (r) => (r.builtin ? 'yes' : '')],
        ['ENABLED', (r) => (r.spec.enabled === false ? 'no' : 'yes')],
        ['SEVERITY', (r) => r.spec.severity],
        ['REPEAT', (r) => (r.spec.repeat ? `${r.spec.repeat}s` : '')],
        ['CONDITION', (r) => r.spec.condition],
        // Last: the why of each rule is prose, left unpadded.
        ['WHY', (r) => r.spec.description],
      ]);
    });

  rules
    .command('apply <file>')
    .description('create or replace a rule from a YAML (or JSON) file; a new version each time')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const rule = await readConfigFile(file, 'alert rule', ruleFile);
      const stored = await expectOk(
        // biome-ignore lint/suspicious/noExplicitAny: the hub validates the rule and answers 400 naming the field
        await alertsClient(ctx)['alert-rules'][':name'].$put({ param: { name: rule.name }, json: rule as any }),
      );
      ctx.output.details(stored, [
        ['name', stored.name],
        ['version', stored.version],
      ]);
    });
  rules
    .command('test <file|rule>')
    .description(
      'evaluate a rule (a YAML/JSON file, or a stored rule by name) against the fleet’s data: which hosts would fire now and why, then per host when over the last hour it would have been pending or firing; stores and notifies nothing',
    )
    .option('--host <host>', 'only this host (id or hostname)')
    .action(async (ruleOrFile: string, opts: { host?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      // A path that exists is a rule file; anything else names a stored rule.
      const target = existsSync(ruleOrFile)
        ? // biome-ignore lint/suspicious/noExplicitAny: the hub validates the rule and answers 400 naming the field
          { rule: (await readConfigFile(ruleOrFile, 'alert rule', ruleFile)) as any }
        : { name: ruleOrFile };
      const r = await expectOk(await alertsClient(ctx)['alert-rules'].test.$post({ json: { ...target, ...(opts.host ? { host: opts.host } : {}) } }));
      const rows = r.hosts.flatMap((h) =>
        h.observations.length > 0
          ? h.observations.map((o) => ({ host: h.hostname, fire: o.active, why: o.reason }))
          : [{ host: h.hostname, fire: false, why: h.note ?? '' }],
      );
      ctx.output.table(r, rows, [
        ['HOST', (x) => x.host],
        ['WOULD FIRE', (x) => (x.fire ? 'yes' : 'no')],
        ['WHY', (x) => x.why],
      ]);
      const firing = r.hosts.filter((h) => h.wouldFire).length;
      ctx.output.line(
        `${r.rule}: ${firing} of ${r.hosts.length} host(s) would fire${firing > 0 && r.for > 0 ? ` once the breach holds ${r.for}s` : ''} (nothing was stored or sent)`,
      );
      // The JSON above already holds the intervals; people get them as a second table.
      if (ctx.output.format === 'json') return;
      const stretches = r.hosts.flatMap((h) => h.intervals.map((i) => ({ host: h.hostname, ...i })));
      const hosts = new Set(stretches.filter((s) => s.state === 'firing').map((s) => s.host)).size;
      ctx.output.line(`\nover the last hour (since ${r.since}): ${hosts} host(s) would have fired`);
      if (stretches.length === 0) return;
      ctx.output.table(r, stretches, [
        ['HOST', (x) => x.host],
        ['STATE', (x) => x.state],
        ['FROM', (x) => x.from],
        ['TO', (x) => x.to ?? 'still open'],
        ['FOR', (x) => formatSpan(new Date(x.to ?? r.evaluatedAt).getTime() - new Date(x.from).getTime())],
        ['WORST', (x) => Number(x.value.toPrecision(4))],
        ['LABELS', (x) => x.labels],
      ]);
    });
  return rules;
}
