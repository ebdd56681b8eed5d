import { isTaskName, taskDefinitions } from '@keyfleet/proto/v1';
import { Command } from 'commander';
import { cliContext } from '../../cli-context.js';
import { CliExit } from '../../cli-exit.js';
import { expectOk } from '../../hub-client.js';
import { parseTaskParams } from '../../parse-task-params.js';
import { positiveInt } from '../../positive-int.js';
import { backupsClient } from './backups-client.js';
import { describeScheduleRun } from './describe-schedule-run.js';

type CreateOptions = {
  kind: string;
  cron: string;
  timezone: string;
  selector?: string;
  windowSeconds?: string;
  maxConcurrent?: string;
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  drillHost?: string;
  identitySecret?: string;
  scratchUrl?: string;
  scratchPasswordSecret?: string;
  task?: string;
  param: string[];
  hubDb?: boolean;
  paused?: boolean;
};

const collect = (value: string, previous: string[]) => [...previous, value];

const KEEP = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function schedulesCommand(): Command {
  const schedules = new Command('schedules').description(
    'fleet-wide backup, drill and task schedules: cron in a time zone, host selector, spread window, cap, retention',
  );

  schedules
    .command('create')
    .description('create a schedule; every hub watches it and exactly one fires each run')
    .argument('<name>', 'a name for it (lowercase letters, digits, . _ -)')
    .option('--kind <kind>', 'backup | drill | task', 'backup')
    .requiredOption('--cron <expression>', 'when: 5 fields (minute hour day month weekday), or 6 with seconds first, e.g. "0 2 * * *"')
    .option('--timezone <zone>', 'IANA time zone the cron is read in', 'UTC')
    .option('--selector <k=v,...>', 'hosts whose labels all match, read at each run (default: every host)')
    .option(
      '--window-seconds <n>',
      'spread: each host starts at its own offset in this window; an offline host is taken if it returns inside it (default 1800)',
    )
    .option('--max-concurrent <n>', 'fleet-wide: at most this many run at once, the rest wait (default 10)')
    .option('--keep-last <n>', 'retention of its own backups: keep the newest n')
    .option('--keep-hourly <n>', 'keep the newest of each of the last n hours with a backup')
    .option('--keep-daily <n>', 'keep the newest of each of the last n days with a backup')
    .option('--keep-weekly <n>', 'keep the newest of each of the last n weeks with a backup')
    .option('--keep-monthly <n>', 'keep the newest of each of the last n months with a backup')
    .option('--keep-yearly <n>', 'keep the newest of each of the last n years with a backup')
    .option('--drill-host <id>', 'drills: the drill host (it receives the identity for each drill)')
    .option('--identity-secret <name>', 'drills: hub secret holding the age identity')
    .option('--scratch-url <url>', 'drills: a Postgres the drill host may create and drop scratch databases on')
    .option('--scratch-password-secret <name>', 'drills: hub secret with that Postgres user’s password')
    .option('--task <type>', 'task schedules: the task type run on each host, e.g. hardening.audit (see keyfleet tasks types)')
    .option('--param <key=value>', 'task schedules: the task’s input (repeatable), converted by the type the task declares', collect, [])
    .option('--hub-db', 'backups: back up the hub’s own database (one unit per run, host hub) instead of hosts')
    .option('--paused', 'create it paused')
    .action(async (name: string, opts: CreateOptions, cmd: Command) => {
      const ctx = await cliContext(cmd);
      if (opts.kind !== 'backup' && opts.kind !== 'drill' && opts.kind !== 'task')
        throw new CliExit(2, `bad --kind "${opts.kind}": expected backup, drill or task`);
      const windowSeconds = opts.windowSeconds === undefined ? undefined : Number(opts.windowSeconds);
      if (windowSeconds !== undefined && !(Number.isInteger(windowSeconds) && windowSeconds >= 0))
        throw new CliExit(2, `bad --window-seconds "${opts.windowSeconds}": expected 0 or more seconds`);
      const keep = Object.fromEntries(KEEP.filter((k) => opts[k] !== undefined).map((k) => [k, positiveInt(flag(k), opts[k]!)]));
      let drill: { hostId: string; identitySecret: string; scratchUrl: string; scratchPasswordSecret?: string } | undefined;
      if (opts.kind === 'drill') {
        if (!opts.drillHost || !opts.identitySecret || !opts.scratchUrl)
          throw new CliExit(2, 'a drill schedule needs --drill-host, --identity-secret and --scratch-url');
        drill = { hostId: opts.drillHost, identitySecret: opts.identitySecret, scratchUrl: opts.scratchUrl, scratchPasswordSecret: opts.scratchPasswordSecret };
      }
      let task: { type: string; params: Record<string, unknown> } | undefined;
      if (opts.kind === 'task') {
        if (!opts.task) throw new CliExit(2, 'a task schedule needs --task <type>');
        if (!isTaskName(opts.task)) throw new CliExit(2, `unknown task type "${opts.task}"; see keyfleet tasks types`);
        try {
          task = { type: opts.task, params: parseTaskParams(taskDefinitions[opts.task], opts.param) };
        } catch (err) {
          throw new CliExit(2, (err as Error).message);
        }
      } else if (opts.task || opts.param.length > 0) throw new CliExit(2, '--task and --param belong to task schedules (--kind task)');
      const s = await expectOk(
        await backupsClient(ctx)['backup-schedules'].$post({
          json: {
            name,
            kind: opts.kind,
            cron: opts.cron,
            timezone: opts.timezone,
            selector: opts.selector,
            windowSeconds,
            maxConcurrent: opts.maxConcurrent === undefined ? undefined : positiveInt('--max-concurrent', opts.maxConcurrent),
            retention: Object.keys(keep).length > 0 ? keep : undefined,
            drill,
            task,
            hub: Boolean(opts.hubDb),
            paused: Boolean(opts.paused),
          },
        }),
      );
      ctx.output.details(s, [
        ['id', s.id],
        ['name', s.name],
        ['next fire', s.nextFireAt],
      ]);
    });

  schedules
    .command('list')
    .description('every schedule with its next fire time, last run and its outcome')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await backupsClient(ctx)['backup-schedules'].$get());
      ctx.output.table(body, body.items, [
        ['NAME', (s) => s.name],
        ['KIND', (s) => s.kind],
        ['CRON', (s) => `${s.cron} ${s.timezone}`],
        ['SELECTOR', (s) => (s.hub ? 'the hub' : (s.selector ?? 'all'))],
        ['STATE', (s) => (s.paused ? 'paused' : 'active')],
        ['NEXT FIRE', (s) => s.nextFireAt],
        ['LAST FIRE', (s) => s.lastRun?.fireTime],
        ['LAST OUTCOME', (s) => describeScheduleRun(s.lastRun)],
      ]);
    });

  schedules
    .command('show')
    .description('one schedule: its settings, last runs, and each host of the newest run')
    .argument('<schedule>', 'id (bs_…) or name')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const s = await expectOk(await backupsClient(ctx)['backup-schedules'][':id'].$get({ param: { id: ref } }));
      const keep = s.retention
        ? Object.entries(s.retention)
            .map(([k, v]) => `${flag(k).slice(2)} ${v}`)
            .join(', ')
        : null;
      ctx.output.details(s, [
        ['id', s.id],
        ['name', s.name],
        ['kind', s.kind],
        ['state', s.paused ? 'paused' : 'active'],
        ['cron', `${s.cron} (${s.timezone})`],
        ['selector', s.hub ? 'the hub’s own database' : (s.selector ?? 'every host')],
        ['window', `${s.windowSeconds}s`],
        ['max concurrent', s.maxConcurrent],
        ['retention', keep],
        ['drill', s.drill ? `on ${s.drill.hostId}, identity ${s.drill.identitySecret}` : null],
        ['task', s.task ? `${s.task.type}${Object.keys(s.task.params).length ? ` ${JSON.stringify(s.task.params)}` : ''}` : null],
        ['next fire', s.nextFireAt],
        ['last fire', s.lastRun?.fireTime],
        ['last outcome', describeScheduleRun(s.lastRun)],
      ]);
      if (ctx.output.format === 'json' || s.lastRunUnits.length === 0) return;
      ctx.output.line('');
      ctx.output.table(s, s.lastRunUnits, [
        ['HOST', (u) => u.hostId],
        ['STATE', (u) => u.state],
        ['START', (u) => u.startAt],
        ['BACKUP', (u) => u.backupId],
        ['TASK', (u) => u.taskId],
        ['ERROR', (u) => u.error],
      ]);
    });

  for (const [verb, description] of [
    ['pause', 'stop firing; units not started yet are dropped, running ones finish'],
    ['resume', 'fire again from the next cron time (times passed while paused do not fire)'],
  ] as const) {
    schedules
      .command(verb)
      .description(description)
      .argument('<schedule>', 'id (bs_…) or name')
      .action(async (ref: string, _opts: unknown, cmd: Command) => {
        const ctx = await cliContext(cmd);
        const s = await expectOk(await backupsClient(ctx)['backup-schedules'][':id'][verb].$post({ param: { id: ref } }));
        ctx.output.details(s, [
          ['name', s.name],
          ['state', s.paused ? 'paused' : 'active'],
          ['next fire', s.nextFireAt],
        ]);
      });
  }

  schedules
    .command('delete')
    .description('delete a schedule and its run history; its backups stay in the catalog')
    .argument('<schedule>', 'id (bs_…) or name')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const s = await expectOk(await backupsClient(ctx)['backup-schedules'][':id'].$delete({ param: { id: ref } }));
      ctx.output.line(`deleted schedule ${s.name} (${s.id})`);
    });

  return schedules;
}
