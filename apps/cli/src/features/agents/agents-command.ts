import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { cliContext, type CliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { parseTarget } from '../../parse-target.js';
import { TasksFailed } from '../../tasks-failed.js';
import { agentsClient } from './agents-client.js';
import { describeUpgrade } from './describe-upgrade.js';
import { waveSize } from './wave-size.js';

type Outcome = { hostId: string; hostname: string; line: string; ok: boolean };

/** `keyfleet agents status|upgrade`. */
export function agentsCommand(): Command {
  const agents = new Command('agents').description('the agents themselves: versions and fleet upgrades');

  agents
    .command('status')
    .description('each host’s agent version, the version the hub wants, and its last upgrade')
    .option('--selector <labels>', 'only hosts with these labels, e.g. env=prod')
    .action(async (opts: { selector?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await agentsClient(ctx).agent.upgrades.$get({ query: { selector: opts.selector } }));
      ctx.output.table(body, body.items, [
        ['HOST', (h) => h.hostId],
        ['HOSTNAME', (h) => h.hostname],
        ['STATUS', (h) => h.status],
        ['AGENT', (h) => h.agentVersion],
        ['WANTED', (h) => (body.wantedVersion && h.agentVersion !== body.wantedVersion ? body.wantedVersion : '')],
        ['LAST UPGRADE', (h) => describeUpgrade(h.upgrade)],
      ]);
    });

  agents
    .command('upgrade')
    .description('upgrade the agents of the target to a version the hub serves, a batch at a time; a batch with a failure stops the rollout')
    .requiredOption('--target <target>', 'host id, label selector k=v[,k=v], or all')
    .option('--version <version>', 'default: the version the hub wants the fleet on')
    .option('--batch <size>', 'hosts upgraded at once: a number or a percentage of the hosts to upgrade', '10%')
    .addOption(new Option('--deadline <seconds>', 'how long each new agent has to report to the hub before it is rolled back').default('120'))
    .action(async (opts: { target: string; version?: string; batch: string; deadline: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const deadlineSec = Number(opts.deadline);
      if (!Number.isInteger(deadlineSec) || deadlineSec < 10) throw new Error(`bad --deadline "${opts.deadline}": at least 10 seconds`);
      const artifact = await expectOk(await agentsClient(ctx).agent.artifact.$get({ query: { version: opts.version } }));
      const target = parseTarget(opts.target);
      const hosts = await expectOk(await ctx.hub.v1.hosts.$get({ query: 'selector' in target ? { selector: target.selector } : {} }));
      const chosen = 'hostId' in target ? hosts.items.filter((h) => h.id === target.hostId) : hosts.items;
      if (chosen.length === 0) throw new Error(`no host matches ${opts.target}`);

      const outcomes: Outcome[] = [];
      const todo: typeof chosen = [];
      for (const h of chosen) {
        if (h.agentVersion === artifact.version) outcomes.push({ hostId: h.id, hostname: h.hostname, line: `already ${artifact.version}`, ok: true });
        else if (h.status !== 'online') outcomes.push({ hostId: h.id, hostname: h.hostname, line: `${h.status}: not upgraded`, ok: false });
        else todo.push(h);
      }
      for (const o of outcomes) ctx.output.line(`${o.hostId}  ${o.hostname}  ${o.line}`);
      const size = waveSize(opts.batch, todo.length);
      ctx.output.line(`upgrading ${todo.length} agent(s) to ${artifact.version} (sha256 ${artifact.sha256.slice(0, 12)}…), ${size} at a time`);

      for (let i = 0; i < todo.length; i += size) {
        const wave = todo.slice(i, i + size);
        const results = await Promise.all(
          wave.map((h) => upgradeOne(ctx, h, { version: artifact.version, sha256: artifact.sha256, size: artifact.size, deadlineSec })),
        );
        for (const o of results) ctx.output.line(`${o.hostId}  ${o.hostname}  ${o.line}`);
        outcomes.push(...results);
        if (results.some((o) => !o.ok)) {
          const left = todo.length - i - wave.length;
          if (left > 0) ctx.output.line(`stopping: ${results.filter((o) => !o.ok).length} agent(s) of this batch did not upgrade; ${left} not attempted`);
          break;
        }
      }
      if (ctx.output.format === 'json') ctx.output.json({ version: artifact.version, hosts: outcomes });
      const failed = outcomes.filter((o) => !o.ok).length + Math.max(0, chosen.length - outcomes.length);
      if (failed > 0) throw new TasksFailed(failed);
    });

  return agents;
}

/** One host: its agent.upgrade task, then the outcome its watchdog reports (or the time running out). */
async function upgradeOne(
  ctx: CliContext,
  host: { id: string; hostname: string; agentVersion: string | null },
  params: { version: string; sha256: string; size: number; deadlineSec: number },
): Promise<Outcome> {
  const started = Date.now();
  const done = (line: string, ok: boolean): Outcome => ({
    hostId: host.id,
    hostname: host.hostname,
    line: `${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    ok,
  });
  const created = await expectOk(
    await ctx.hub.v1.tasks.$post({ json: { type: 'agent.upgrade', target: { hostId: host.id }, params, timeoutMs: 15 * 60_000 } }),
  );
  const taskId = created.tasks[0]!.id;
  let task: Awaited<ReturnType<typeof getTask>>;
  for (;;) {
    task = await getTask(ctx, taskId);
    if (['succeeded', 'failed', 'cancelled', 'expired'].includes(task.state)) break;
    await sleep(500);
  }
  if (task.state !== 'succeeded') return done(`${host.agentVersion} → ${params.version} ${task.state}: ${task.error?.message ?? 'no reason given'}`, false);
  const output = task.output as { state: string; from: string; attemptId?: string } | undefined;
  if (output?.state === 'current') return done(`already ${params.version}`, true);
  const mine = (u: { taskId: string | null; attemptId: string | null }) => u.taskId === taskId || (!!output?.attemptId && u.attemptId === output.attemptId);

  // The watchdog has the deadline, then the old agent's restart, to report; a margin for the rest.
  const giveUp = Date.now() + (2 * params.deadlineSec + 60) * 1000;
  while (Date.now() < giveUp) {
    const body = await expectOk(await agentsClient(ctx).agent.upgrades.$get({ query: {} }));
    const u = body.items.find((h) => h.hostId === host.id)?.upgrade;
    if (u && mine(u) && u.state === 'upgraded') return done(`${u.from} → ${u.to} upgraded`, true);
    if (u && mine(u) && u.state === 'rolled_back') return done(`${u.from} → ${u.to} ROLLED BACK: ${u.reason}`, false);
    await sleep(1_000);
  }
  return done(
    `${host.agentVersion} → ${params.version}: no report from the host within ${2 * params.deadlineSec + 60} s (see \`keyfleet agents status\`)`,
    false,
  );
}

function getTask(ctx: CliContext, id: string) {
  return ctx.hub.v1.tasks[':id'].$get({ param: { id } }).then(expectOk);
}
