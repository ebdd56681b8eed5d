import { Command } from 'commander';
import { BatchProgress } from '../batch-progress.js';
import { cliContext, type CliContext } from '../cli-context.js';
import { expectOk, HubError } from '../hub-client.js';
import { parseParams, parseTarget } from '../parse-target.js';
import { readSse } from '../read-sse.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Exit code 1 when any host's task did not succeed; the CLI's contract for scripts. */
export class TasksFailed extends Error {
  constructor(readonly failed: number) {
    super(`${failed} task(s) did not succeed`);
  }
}

const isBatch = (id: string) => id.startsWith('b_');

export function tasksCommand(): Command {
  const tasks = new Command('tasks').description('run tasks on hosts and follow them');

  tasks
    .command('run <type>')
    .description('run a declared task type on a host id, a label selector (k=v,...) or all hosts')
    .requiredOption('--target <target>', 'host id | key=value[,key=value] | all')
    .option('--param <key=value>', 'task input (repeatable); JSON values are parsed', collect, [])
    .option('--timeout <ms>', 'execution timeout per host (default: the task type’s)')
    .option('--expires-in <ms>', 'how long to wait for offline hosts before the task expires')
    .option('--wait', 'follow progress until every host finished; exit 1 if any failed')
    .action(async (type: string, opts: { target: string; param: string[]; timeout?: string; expiresIn?: string; wait?: boolean }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const created = await expectOk(
        await ctx.hub.v1.tasks.$post({
          json: {
            type,
            target: parseTarget(opts.target),
            params: parseParams(opts.param),
            timeoutMs: opts.timeout === undefined ? undefined : positiveInt('--timeout', opts.timeout),
            expiresInMs: opts.expiresIn === undefined ? undefined : positiveInt('--expires-in', opts.expiresIn),
          },
        }),
      );
      if (!opts.wait) {
        ctx.output.table(created, created.tasks, [
          ['TASK', (t) => t.id],
          ['HOST', (t) => t.hostId],
          ['STATE', (t) => t.state],
        ]);
        ctx.output.line(`batch ${created.batch.id}: follow with \`keyfleet tasks show ${created.batch.id} --wait\``);
        return;
      }
      await follow(ctx, created.batch.id, created.tasks.map((t) => t.hostId));
    });

  tasks
    .command('list')
    .description('list tasks, newest first')
    .option('--batch <id>', 'tasks of one batch')
    .option('--host <id>', 'tasks of one host')
    .option('--state <state>', 'queued | dispatched | running | succeeded | failed | cancelled | expired')
    .option('--type <type>', 'tasks of one type')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: { batch?: string; host?: string; state?: string; type?: string; limit: string }, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = await expectOk(
        await hub.v1.tasks.$get({
          query: { batch: opts.batch, host: opts.host, state: opts.state as never, type: opts.type, limit: String(positiveInt('--limit', opts.limit)) as never },
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
          ? (await expectOk(await ctx.hub.v1.batches[':id'].$get({ param: { id } }))).tasks.map((t) => t.hostId)
          : [(await expectOk(await ctx.hub.v1.tasks[':id'].$get({ param: { id } }))).hostId];
        return follow(ctx, id, hostIds);
      }
      if (isBatch(id)) return printBatch(ctx, id);
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
      if (t.state !== 'succeeded' && isTerminal(t.state)) throw new TasksFailed(1);
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

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'expired'];
const isTerminal = (state: string) => TERMINAL.includes(state);

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad ${flag} "${value}": expected a positive integer`);
  return n;
}

/** Streams the hub's events for a task or batch, then prints the stored outcome. */
async function follow(ctx: CliContext, id: string, hostIds: string[]): Promise<void> {
  const live = ctx.output.format === 'json' ? undefined : new BatchProgress(process.stdout, hostIds);
  const url = `${ctx.hubUrl}/v1/${isBatch(id) ? 'batches' : 'tasks'}/${id}/events`;
  let lastEventId: string | undefined;
  try {
    // The stream can drop (hub restart, proxy); resume from the last event id.
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...(ctx.token ? { authorization: `Bearer ${ctx.token}` } : {}), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      }).catch((err: Error) => {
        if (attempt >= 30) throw new HubError(`lost the hub at ${ctx.hubUrl}: ${err.message}`, 0);
        return undefined;
      });
      if (res && !res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new HubError(body.error ?? `hub answered ${res.status} for ${url}`, res.status);
      }
      let ended = false;
      if (res?.body) {
        try {
          for await (const ev of readSse(res.body)) {
            if (ev.id) lastEventId = ev.id;
            if (ev.event === 'end') {
              ended = true;
              break;
            }
            if (ev.event === 'error') continue;
            const e = JSON.parse(ev.data) as { hostId: string; kind: string; data: { state?: string; percent?: number; message?: string; error?: { message: string } } };
            if (e.kind === 'state') live?.update(e.hostId, { state: e.data.state, message: e.data.error?.message });
            else live?.update(e.hostId, { percent: e.data.percent, message: e.data.message });
          }
        } catch {
          // connection dropped mid-stream: reconnect below
        }
      }
      if (ended) break;
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
    }
  } finally {
    live?.stop();
  }
  if (isBatch(id)) return printBatch(ctx, id);
  const t = await expectOk(await ctx.hub.v1.tasks[':id'].$get({ param: { id } }));
  ctx.output.json(t);
  if (t.state !== 'succeeded') throw new TasksFailed(1);
}

async function printBatch(ctx: CliContext, id: string): Promise<void> {
  const body = await expectOk(await ctx.hub.v1.batches[':id'].$get({ param: { id } }));
  ctx.output.table(body, body.tasks, [
    ['HOST', (t) => t.hostId],
    ['STATE', (t) => t.state],
    ['SECONDS', (t) => (t.startedAt && t.finishedAt ? ((Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000).toFixed(2) : null)],
    ['RESULT', (t) => (t.error ? `${t.error.code}: ${t.error.message}` : summarize(t.output))],
  ]);
  const failed = body.tasks.filter((t) => isTerminal(t.state) && t.state !== 'succeeded').length;
  if (failed) throw new TasksFailed(failed);
}

function summarize(output: unknown): string {
  const text = JSON.stringify(output) ?? '';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
