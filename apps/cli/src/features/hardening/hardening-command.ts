import { taskDefinitions } from '@keyfleet/proto/v1';
import { Command, InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { type CliContext, cliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { parseTarget } from '../../parse-target.js';
import { throwIfFailed } from '../../print-batch.js';
import { readConfigFile } from '../../read-config-file.js';
import { runAndFollow } from '../../run-and-follow.js';
import type { TaskRequest } from '../../task-request.js';
import { hardeningClient } from './hardening-client.js';
import { printFindings, renderHardening } from './render-hardening.js';

type Selection = z.input<(typeof taskDefinitions)['hardening.audit']['input']>;
type HardeningTask = 'hardening.audit' | 'hardening.apply' | 'hardening.rollback';

const TARGET_HELP = 'host id | key=value[,key=value] | all';
const PROFILE_HELP = 'profile file, YAML or JSON: {profile: keycloak-host, params: {...}, disabled: [{rule, reason}]}';

const disabledRule = (v: string, prev: Array<{ rule: string; reason: string }> = []) => {
  const i = v.indexOf('=');
  if (i < 1 || i === v.length - 1) throw new InvalidArgumentError('rule=reason, e.g. sysctl.ptrace="debuggers attach here"');
  return [...prev, { rule: v.slice(0, i), reason: v.slice(i + 1) }];
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

interface SelectionOpts {
  target: string;
  profileFile?: string;
  disable?: Array<{ rule: string; reason: string }>;
}

/** The profile file, with the `--disable` rules added to the ones it disables. */
async function selection(opts: SelectionOpts): Promise<Selection> {
  const base: Selection = opts.profileFile ? await readConfigFile(opts.profileFile, 'hardening profile', taskDefinitions['hardening.audit'].input) : {};
  return opts.disable?.length ? { ...base, disabled: [...(base.disabled ?? []), ...opts.disable] } : base;
}

async function run<K extends HardeningTask>(cmd: Command, type: K, target: string, params: TaskRequest<K>['params']): Promise<void> {
  const ctx = await cliContext(cmd);
  await runAndFollow(
    ctx,
    { type, target: parseTarget(target), params },
    {
      wait: true,
      render: (batch) => {
        renderHardening(ctx.output, type, batch);
        throwIfFailed(batch);
      },
    },
  );
}

function withSelection(c: Command): Command {
  return c
    .requiredOption('--target <target>', TARGET_HELP)
    .option('--profile-file <file>', PROFILE_HELP)
    .option('--disable <rule=reason>', 'skip a rule, saying why (repeatable)', disabledRule);
}

async function show(ctx: CliContext, hostId: string): Promise<void> {
  const body = await expectOk(await hardeningClient(ctx).hosts[':id'].hardening.$get({ param: { id: hostId }, query: {} }));
  if (ctx.output.format === 'json') return ctx.output.json(body);
  if (!body.report) {
    ctx.output.line(`${body.hostname} (${body.hostId}): no hardening report yet; run keyfleet hardening audit --target ${body.hostId}`);
    return;
  }
  ctx.output.line(`${body.hostname} (${body.hostId}): score ${body.report.score}, checked ${body.report.checkedAt} (task ${body.taskId})`);
  printFindings(ctx.output, body.report);
  if (body.events.length) {
    ctx.output.line('');
    ctx.output.table(body.events, body.events, [
      ['AT', (e) => e.at],
      ['CAUSE', (e) => (e.cause === 'hardening.audit' ? 'drift' : e.cause.slice('hardening.'.length))],
      ['CHANGES', (e) => e.changes.map((c) => `${c.rule} ${c.from ?? 'new'}→${c.to}`).join(', ')],
    ]);
  }
}

export function hardeningCommand(): Command {
  const hardening = new Command('hardening').description('audit hosts against the keycloak-host profile, plan and apply fixes, roll back, watch drift');

  withSelection(hardening.command('audit').description(`${taskDefinitions['hardening.audit'].description} (always waits)`)).action(
    async (opts: SelectionOpts, cmd: Command) => run(cmd, 'hardening.audit', opts.target, await selection(opts)),
  );

  withSelection(hardening.command('plan').description('Shows exactly what hardening apply would change on each host, changing nothing'))
    .option('--rule <id>', 'only this rule (repeatable)', collect)
    .action(async (opts: SelectionOpts & { rule?: string[] }, cmd: Command) =>
      run(cmd, 'hardening.apply', opts.target, { ...(await selection(opts)), dryRun: true, ...(opts.rule ? { rules: opts.rule } : {}) }),
    );

  withSelection(hardening.command('apply').description(taskDefinitions['hardening.apply'].description))
    .option('--rule <id>', 'only this rule (repeatable)', collect)
    .option('--dry-run', 'only show what would change (same as hardening plan)')
    .action(async (opts: SelectionOpts & { rule?: string[]; dryRun?: boolean }, cmd: Command) =>
      run(cmd, 'hardening.apply', opts.target, { ...(await selection(opts)), dryRun: Boolean(opts.dryRun), ...(opts.rule ? { rules: opts.rule } : {}) }),
    );

  hardening
    .command('rollback')
    .description(taskDefinitions['hardening.rollback'].description)
    .requiredOption('--target <target>', TARGET_HELP)
    .option('--id <rollbackId>', 'the rollback id hardening apply printed (default: the host’s last apply not rolled back)')
    .action(async (opts: { target: string; id?: string }, cmd: Command) => run(cmd, 'hardening.rollback', opts.target, opts.id ? { rollbackId: opts.id } : {}));

  hardening
    .command('show <host>')
    .description('One host’s last hardening report (from the hub, no task) and its status changes: drift, applies, rollbacks')
    .action(async (hostId: string, _opts: unknown, cmd: Command) => show(await cliContext(cmd), hostId));

  hardening
    .command('report')
    .description('The fleet: each host’s last score and failing rules')
    .option('--selector <k=v,...>', 'only hosts with these labels')
    .action(async (opts: { selector?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await hardeningClient(ctx).hardening.hosts.$get({ query: opts.selector ? { selector: opts.selector } : {} }));
      ctx.output.table(body, body.items, [
        ['HOST', (h) => h.hostId],
        ['HOSTNAME', (h) => h.hostname],
        ['SCORE', (h) => h.score],
        ['FAILING', (h) => h.failing.join(', ')],
        ['CHECKED', (h) => h.checkedAt],
      ]);
    });

  return hardening;
}
