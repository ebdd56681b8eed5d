import { realmSpec } from '@keyfleet/proto/v1';
import { Command } from 'commander';
import type { BatchDetail } from '../../batch-detail.js';
import { cliContext, type CliContext } from '../../cli-context.js';
import { CliExit } from '../../cli-exit.js';
import { expectOk } from '../../hub-client.js';
import { keycloakClient } from './keycloak-client.js';
import { parseTarget } from '../../parse-target.js';
import { positiveInt } from '../../positive-int.js';
import { readConfigFile } from '../../read-config-file.js';
import { realmResults } from './realm-results.js';
import { renderRealmDiff, summarizeRealmChanges } from './render-realm-diff.js';
import { followBatch, runAndFollow } from '../../run-and-follow.js';
import { TasksFailed } from '../../tasks-failed.js';

/** Prints each host's diff (or, in json mode, the parsed results); exit 1 if any host failed. Returns whether anything differs. */
function showRealmDiff(ctx: CliContext, batch: BatchDetail, mode: 'plan' | 'apply'): boolean {
  const results = realmResults(batch.tasks);
  if (ctx.output.format === 'json') ctx.output.json({ batch: batch.batch.id, results });
  else process.stdout.write(renderRealmDiff(results, mode));
  const failed = results.filter((r) => !r.ok).length;
  if (failed) throw new TasksFailed(failed);
  return results.some((r) => r.ok && r.changes.length > 0);
}

export function realmCommand(): Command {
  const realm = new Command('realm').description('realms as code: plan, apply, history and rollback of realm specs');

  realm
    .command('plan')
    .description('compare a realm spec with each host’s live realm and print the differences (nothing is changed)')
    .requiredOption('--target <target>', 'host id | key=value[,key=value] | all')
    .requiredOption('--spec <file>', 'realm spec, YAML or JSON')
    .option('--detailed-exitcode', 'exit 0 when in sync, 2 when changes are present, 1 on any error (like terraform plan)')
    .action(async (opts: { target: string; spec: string; detailedExitcode?: boolean }, cmd: Command) => {
      let changes = false;
      try {
        const ctx = await cliContext(cmd);
        const spec = await readConfigFile(opts.spec, 'realm spec', realmSpec);
        await runAndFollow(
          ctx,
          { type: 'keycloak.realm.plan', target: parseTarget(opts.target), params: { spec } },
          {
            wait: true,
            render: (batch) => {
              changes = showRealmDiff(ctx, batch, 'plan');
            },
          },
        );
      } catch (err) {
        // Under --detailed-exitcode, 2 means "changes"; every failure must then be 1.
        if (opts.detailedExitcode && !(err instanceof TasksFailed)) throw new CliExit(1, `error: ${(err as Error).message}`);
        throw err;
      }
      if (opts.detailedExitcode && changes) throw new CliExit(2);
    });

  realm
    .command('apply')
    .description('apply a realm spec on each host (idempotent) and print what changed; the hub keeps each applied version')
    .requiredOption('--target <target>', 'host id | key=value[,key=value] | all')
    .requiredOption('--spec <file>', 'realm spec, YAML or JSON')
    .action(async (opts: { target: string; spec: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const spec = await readConfigFile(opts.spec, 'realm spec', realmSpec);
      await runAndFollow(
        ctx,
        { type: 'keycloak.realm.apply', target: parseTarget(opts.target), params: { spec } },
        {
          wait: true,
          render: (batch) => void showRealmDiff(ctx, batch, 'apply'),
        },
      );
    });

  realm
    .command('history')
    .description('realm spec versions applied to a host, newest first')
    .requiredOption('--host <id>', 'host id')
    .requiredOption('--realm <name>', 'realm name')
    .action(async (opts: { host: string; realm: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const { output } = ctx;
      const body = await expectOk(await keycloakClient(ctx).hosts[':id'].realms[':realm'].history.$get({ param: { id: opts.host, realm: opts.realm } }));
      output.table(body, body.items, [
        ['VERSION', (v) => v.version],
        ['APPLIED', (v) => v.appliedAt],
        ['BY', (v) => v.appliedBy],
        ['TASK', (v) => v.taskId],
        ['CHANGES', (v) => summarizeRealmChanges(v.changes)],
      ]);
    });

  realm
    .command('rollback')
    .description('re-apply an earlier realm spec version on a host')
    .requiredOption('--host <id>', 'host id')
    .requiredOption('--realm <name>', 'realm name')
    .requiredOption('--version <n>', 'the version to go back to (see `realm history`)')
    .option('--wait', 'follow until applied and print what changed; exit 1 if it failed')
    .action(async (opts: { host: string; realm: string; version: string; wait?: boolean }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const created = await expectOk(
        await keycloakClient(ctx).hosts[':id'].realms[':realm'].rollback.$post({
          param: { id: opts.host, realm: opts.realm },
          json: { version: positiveInt('--version', opts.version) },
        }),
      );
      await followBatch(ctx, created, { wait: Boolean(opts.wait), render: (batch) => void showRealmDiff(ctx, batch, 'apply') });
    });

  return realm;
}
