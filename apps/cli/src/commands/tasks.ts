import { isTerminalTaskState, type TaskName, taskDefinitionList, taskState } from '@keyfleet/proto/v1';
import { Command, Option } from 'commander';
import { batchDetail } from '../batch-detail.js';
import { cliContext, type CliContext } from '../cli-context.js';
import { followEvents } from '../follow-events.js';
import { expectOk } from '../hub-client.js';
import { parseTarget } from '../parse-target.js';
import { parseTaskParams } from '../parse-task-params.js';
import { describeTaskParams } from '../describe-task-params.js';
import { inputProperties } from '../input-properties.js';
import { positiveInt } from '../positive-int.js';
import { printBatch } from '../print-batch.js';
import { runAndFollow } from '../run-and-follow.js';
import { TasksFailed } from '../tasks-failed.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const isBatch = (id: string) => id.startsWith('b_');

export function tasksCommand(): Command {
  const tasks = new Command('tasks').description('run tasks on hosts and follow them');

  const run = tasks
    .command('run')
    .description('run a declared task type on a host id, a label selector (k=v,...) or all hosts; `keyfleet tasks types` lists them')
    .usage('<type> --target <target> [--param key=value ...] [--wait]');
  for (const def of taskDefinitionList) {
    run
      .command(def.name)
      .description(def.description)
      .requiredOption('--target <target>', 'host id | key=value[,key=value] | all')
      .option('--param <key=value>', 'task input (repeatable); converted by the type the task declares', collect, [])
      .option('--timeout <ms>', `execution timeout per host (default ${def.defaultTimeoutMs})`)
      .option('--expires-in <ms>', 'how long to wait for offline hosts before the task expires')
      .option('--wait', 'follow progress until every host finished; exit 1 if any failed')
      .addHelpText('after', `\n${describeTaskParams(def)}`)
      .action(async (opts: { target: string; param: string[]; timeout?: string; expiresIn?: string; wait?: boolean }, cmd: Command) => {
        const ctx = await cliContext(cmd);
        await runAndFollow(
          ctx,
          {
            type: def.name as TaskName,
            target: parseTarget(opts.target),
            params: parseTaskParams(def, opts.param),
            timeoutMs: opts.timeout === undefined ? undefined : positiveInt('--timeout', opts.timeout),
            expiresInMs: opts.expiresIn === undefined ? undefined : positiveInt('--expires-in', opts.expiresIn),
          },
          { wait: Boolean(opts.wait) },
        );
      });
  }

  tasks
    .command('types')
    .description('the task types this CLI knows, with their parameters')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = await cliContext(cmd);
      const rows = taskDefinitionList.map((d) => ({
        name: d.name,
        description: d.description,
        defaultTimeoutMs: d.defaultTimeoutMs,
        params: inputProperties(d),
      }));
      output.table(rows, rows, [
        ['TYPE', (r) => r.name],
        ['PARAMS', (r) => r.params.map((p) => (p.required ? `${p.name}*` : p.name)).join(', ')],
        ['TIMEOUT', (r) => `${r.defaultTimeoutMs / 1000}s`],
        ['DESCRIPTION', (r) => r.description],
      ]);
    });

  tasks
    .command('list')
    .description('list tasks, newest first')
    .option('--batch <id>', 'tasks of one batch')
    .option('--host <id>', 'tasks of one host')
    .addOption(new Option('--state <state>', 'tasks in this state').choices(taskState.options))
    .option('--type <type>', 'tasks of one type')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: { batch?: string; host?: string; state?: string; type?: string; limit: string }, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = await expectOk(
        await hub.v1.tasks.$get({
          query: {
            batch: opts.batch,
            host: opts.host,
            state: opts.state as (typeof taskState.options)[number] | undefined,
            type: opts.type,
            limit: String(positiveInt('--limit', opts.limit)) as never,
          },
        }),
      );
      output.table(body, body.items, [
        ['TASK', (t) => t.id],
        ['BATCH', (t) => t.batchId],
        ['HOST', (t) => t.hostId],
        ['TYPE', (t) => t.type],
        ['STATE', (t) => t.state],
        ['CREATED', (t) => t.createdAt],
        ['ERROR', (t) => t.error?.message],
      ]);
    });

  tasks
    .command('show <id>')
    .description('a task (t_…) or a whole batch (b_…) with results')
    .option('--wait', 'follow until finished; exit 1 if any host failed')
    .action(async (id: string, opts: { wait?: boolean }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      if (opts.wait) {
        const hostIds = isBatch(id)
          ? (await batchDetail(ctx, id)).tasks.map((t) => t.hostId)
          : [(await expectOk(await ctx.hub.v1.tasks[':id'].$get({ param: { id } }))).hostId];
        return follow(ctx, id, hostIds);
      }
      if (isBatch(id)) return printBatch(ctx.output, await batchDetail(ctx, id));
      const t = await expectOk(await ctx.hub.v1.tasks[':id'].$get({ param: { id } }));
      ctx.output.details(t, [
        ['id', t.id],
        ['batch', t.batchId],
        ['host', t.hostId],
        ['type', t.type],
        ['state', t.state],
        ['params', t.params],
        ['created', t.createdAt],
        ['started', t.startedAt],
        ['finished', t.finishedAt],
        ['progress', t.progress],
        ['output', t.output],
        ['error', t.error ? `${t.error.code}: ${t.error.message}` : null],
      ]);
      if (t.state !== 'succeeded' && isTerminalTaskState(t.state)) throw new TasksFailed(1);
    });

  tasks
    .command('cancel <id>')
    .description('cancel a task (t_…) or every unfinished task of a batch (b_…)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = isBatch(id)
        ? await expectOk(await hub.v1.batches[':id'].cancel.$post({ param: { id } }))
        : await expectOk(await hub.v1.tasks[':id'].cancel.$post({ param: { id } }));
      if (output.format === 'json') output.json(body);
      else output.line(`cancel requested for ${id}: ${JSON.stringify(body)}`);
    });

  return tasks;
}

/** Follows a task or batch to its end, then prints the stored outcome. */
async function follow(ctx: CliContext, id: string, hostIds: string[]): Promise<void> {
  await followEvents(ctx, id, hostIds);
  if (isBatch(id)) return printBatch(ctx.output, await batchDetail(ctx, id));
  const t = await expectOk(await ctx.hub.v1.tasks[':id'].$get({ param: { id } }));
  ctx.output.json(t);
  if (t.state !== 'succeeded') throw new TasksFailed(1);
}
