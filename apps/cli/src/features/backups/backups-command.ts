import { bytesText, keycloakConfig } from '@keyfleet/proto/v1';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { BatchProgress } from '../../batch-progress.js';
import { cliContext, type CliContext } from '../../cli-context.js';
import { CliExit } from '../../cli-exit.js';
import { followEvents } from '../../follow-events.js';
import { expectOk, HubError } from '../../hub-client.js';
import { parseTarget } from '../../parse-target.js';
import { positiveInt } from '../../positive-int.js';
import { readConfigFile } from '../../read-config-file.js';
import { TasksFailed } from '../../tasks-failed.js';
import { backupsClient } from './backups-client.js';
import { readIdentityChoice } from './read-identity-file.js';

type Backup = Awaited<ReturnType<typeof showBackup>>;

async function showBackup(ctx: CliContext, id: string) {
  return expectOk(await backupsClient(ctx).backups[':id'].$get({ param: { id } }));
}

async function backupExports(ctx: CliContext, id: string) {
  return (await expectOk(await backupsClient(ctx).backups[':id'].exports.$get({ param: { id } }))).items;
}

type BackupExport = Awaited<ReturnType<typeof backupExports>>[number];

const exportText = (x: BackupExport) =>
  x.state === 'stored'
    ? `${x.id}: ${x.realms?.join(', ')} (${size(x.sizeBytes)}, sha256 ${x.sha256}) at ${x.finishedAt}`
    : `${x.id}: ${x.state}${x.error ? `: ${x.error}` : ''}`;

/** Polls the catalog until `done` says so; the hub records each step, so a restarted CLI sees the same. */
async function waitFor(ctx: CliContext, id: string, done: (b: Backup) => boolean, timeoutMs = 4 * 3600_000): Promise<Backup> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const b = await showBackup(ctx, id);
    if (done(b)) return b;
    const line = `${id}: ${b.state}`;
    if (line !== last) ctx.output.line(line);
    last = line;
    if (Date.now() > deadline) throw new CliExit(2, `gave up waiting for ${id}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The live lines of running backups and restores: on a terminal a bar with bytes and throughput
 * per host; plain lines on a pipe, and on stderr with `-o json`, so stdout stays one JSON document.
 */
function liveProgress(ctx: CliContext, hostIds: string[]): BatchProgress {
  if (ctx.output.format === 'json') return new BatchProgress({ write: (text: string) => process.stderr.write(text), isTTY: false }, hostIds);
  return new BatchProgress(process.stdout, hostIds);
}

const size = (n: number | null) => (n === null ? null : bytesText(n));

export function backupsCommand(): Command {
  const backups = new Command('backups').description('age-encrypted backups of each host’s Keycloak, their catalog and restore drills');

  backups
    .command('list')
    .description('the catalog, newest first')
    .option('--host <id>', 'only this host')
    .option('--state <state>', 'running | stored | verified | failed | pruned')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (opts: { host?: string; state?: string; limit: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(
        await backupsClient(ctx).backups.$get({ query: { host: opts.host, state: opts.state as never, limit: opts.limit as never } }),
      );
      ctx.output.table(body, body.items, [
        ['ID', (b) => b.id],
        ['HOST', (b) => b.hostId],
        ['STATE', (b) => b.state],
        ['STARTED', (b) => b.startedAt],
        ['SIZE', (b) => size(b.sizeBytes)],
        ['KEYCLOAK', (b) => b.keycloakVersion],
        ['DRILL', (b) => (b.lastDrill ? `${b.lastDrill.ok ? 'ok' : 'FAILED'} ${b.lastDrill.at}` : null)],
        ['ERROR', (b) => b.error],
      ]);
    });

  backups
    .command('show')
    .description('one backup with its manifest and last drill')
    .argument('<id>', 'backup id (bk_…)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const [b, exports] = await Promise.all([showBackup(ctx, id), backupExports(ctx, id)]);
      ctx.output.details({ ...b, exports }, [
        ['id', b.id],
        ['host', b.hostId],
        ['state', b.state],
        ['error', b.error],
        ['started', b.startedAt],
        ['finished', b.finishedAt],
        ['size', size(b.sizeBytes)],
        ['sha256', b.sha256],
        ['recipients', b.recipients.map((r) => `${r.name} (${r.recipient.slice(0, 12)}…)`).join(', ')],
        ['keycloak', b.keycloakVersion],
        ['storage', b.storage],
        ['task', b.taskId],
        ['realms', (b.manifest?.realms as Array<{ realm: string; users: number }> | undefined)?.map((r) => `${r.realm} (${r.users} users)`).join(', ')],
        [
          'last drill',
          b.lastDrill
            ? `${b.lastDrill.ok ? 'verified' : 'FAILED'} at ${b.lastDrill.at}${b.lastDrill.restoreMs ? `, restore ${(b.lastDrill.restoreMs / 1000).toFixed(1)}s` : ''}${b.lastDrill.error ? `: ${b.lastDrill.error}` : ''}`
            : null,
        ],
        ['realm exports', exports.length ? exports.map(exportText).join('\n') : null],
      ]);
    });

  backups
    .command('run')
    .description('back up the targeted hosts now (each gets its own single-use upload target), or with --hub-db the hub’s own database')
    .option('--target <target>', 'host id | key=value[,key=value] | all')
    .option('--hub-db', 'back up the hub’s own database (host hub): the hub writes it and answers when it is stored; exit 1 if it failed')
    .option('--wait', 'wait until each backup is stored (or failed); exit 1 if any failed')
    .action(async (opts: { target?: string; hubDb?: boolean; wait?: boolean }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      if (Boolean(opts.hubDb) === (opts.target !== undefined)) throw new CliExit(2, 'give one of --target <target> and --hub-db');
      if (opts.hubDb) {
        const b = await expectOk(await backupsClient(ctx).backups.hub.$post());
        ctx.output.table(
          b,
          [b],
          [
            ['BACKUP', (x) => x.id],
            ['HOST', (x) => x.hostId],
            ['STATE', (x) => x.state],
            ['SIZE', (x) => size(x.sizeBytes ?? null)],
            ['ERROR', (x) => x.error],
          ],
        );
        if (b.state === 'failed') throw new TasksFailed(1);
        return;
      }
      const started = await expectOk(await backupsClient(ctx).backups.$post({ json: { target: parseTarget(opts.target!) } }));
      if (!opts.wait) {
        ctx.output.table(started, started.backups, [
          ['BACKUP', (b) => b.id],
          ['HOST', (b) => b.hostId],
          ['TASK', (b) => b.taskId],
        ]);
        return;
      }
      const live = liveProgress(
        ctx,
        started.backups.map((b) => b.hostId),
      );
      try {
        await Promise.all(started.backups.map((b) => followEvents(ctx, b.taskId, [b.hostId], live)));
      } finally {
        live.stop();
      }
      // The catalog says stored once the hub checked the object: by the task's end, or just after.
      const done = await Promise.all(started.backups.map((b) => waitFor(ctx, b.id, (x) => x.state !== 'running')));
      ctx.output.table(done, done, [
        ['BACKUP', (b) => b.id],
        ['HOST', (b) => b.hostId],
        ['STATE', (b) => b.state],
        ['SIZE', (b) => size(b.sizeBytes)],
        ['ERROR', (b) => b.error],
      ]);
      const failed = done.filter((b) => b.state === 'failed').length;
      if (failed) throw new TasksFailed(failed);
    });

  backups
    .command('drill-hub')
    .description(
      'prove a backup of the hub’s own database restores, on the hub: decrypt, restore into a scratch database, compare migration and rows per table with its manifest',
    )
    .argument('<id>', 'backup id (bk_…) of host hub')
    .option('--identity-secret <name>', 'hub secret holding the age identity')
    .option('--identity-file <file>', 'an age identity file for this drill only (- for stdin): the hub uses it and forgets it')
    .option(
      '--scratch-url <url>',
      'a Postgres hub’s backup: a Postgres the hub may create and drop a scratch database on (an embedded hub’s restores into a scratch PGlite)',
    )
    .option('--scratch-password-secret <name>', 'hub secret with that Postgres user’s password')
    .action(async (id: string, opts: { identitySecret?: string; identityFile?: string; scratchUrl?: string; scratchPasswordSecret?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const identity = await readIdentityChoice(opts);
      const verdict = await expectOk(
        await backupsClient(ctx).backups[':id']['hub-drill'].$post({
          param: { id },
          json: { ...identity, scratchUrl: opts.scratchUrl, scratchPasswordSecret: opts.scratchPasswordSecret },
        }),
      );
      ctx.output.table(verdict, verdict.checks ?? [], [
        ['CHECK', (c) => c.name],
        ['OK', (c) => (c.ok ? 'yes' : 'NO')],
        ['DETAIL', (c) => c.detail],
      ]);
      if (!verdict.ok) throw new CliExit(1, verdict.error ?? `backup ${id} FAILED its drill`);
    });

  backups
    .command('drill')
    .description('prove a backup restores: decrypt, restore into a scratch database and compare with its manifest, on a drill host')
    .argument('<id>', 'backup id (bk_…)')
    .requiredOption('--on <host>', 'the drill host (it receives the identity for this drill, or with --identity-file only this backup’s file key)')
    .option('--identity-secret <name>', 'hub secret holding the age identity (keyfleet secrets set <name> --from-file key.txt)')
    .option('--identity-file <file>', 'an age identity file for this drill only (- for stdin): the hub opens this backup with it and forgets it')
    .requiredOption('--scratch-url <url>', 'a Postgres the drill host may create and drop a scratch database on (postgres://user@host:port/db)')
    .option('--scratch-password-secret <name>', 'hub secret with that Postgres user’s password')
    .option('--database-only', 'do not boot a scratch Keycloak: prove the database only (a drill host without the backup’s Keycloak version)')
    .option(
      '--export',
      'also export the realms with their users (kc.sh export) from the scratch copy, age-encrypted to the backup recipients and kept with the backup (keyfleet backups export)',
    )
    .option('--wait', 'wait for the verdict (with the dump’s bytes as they are restored); exit 1 if the drill failed')
    .action(
      async (
        id: string,
        opts: {
          on: string;
          identitySecret?: string;
          identityFile?: string;
          scratchUrl: string;
          scratchPasswordSecret?: string;
          databaseOnly?: boolean;
          export?: boolean;
          wait?: boolean;
        },
        cmd: Command,
      ) => {
        const ctx = await cliContext(cmd);
        const identity = await readIdentityChoice(opts);
        const started = await expectOk(
          await backupsClient(ctx).backups[':id'].drill.$post({
            param: { id },
            json: {
              hostId: opts.on,
              ...identity,
              scratchUrl: opts.scratchUrl,
              scratchPasswordSecret: opts.scratchPasswordSecret,
              ...(opts.databaseOnly ? { keycloak: 'skip' as const } : {}),
              ...(opts.export ? { export: true } : {}),
            },
          }),
        );
        ctx.output.line(`drill of ${id} on ${started.hostId}: task ${started.taskId}`);
        if (!opts.wait) return;
        const live = liveProgress(ctx, [started.hostId]);
        try {
          await followEvents(ctx, started.taskId, [started.hostId], live);
        } finally {
          live.stop();
        }
        const b = await waitFor(ctx, id, (x) => x.lastDrill?.taskId === started.taskId);
        const drill = b.lastDrill!;
        const exported = opts.export ? (await backupExports(ctx, id)).find((x) => x.taskId === started.taskId) : undefined;
        ctx.output.details({ ...b, ...(exported ? { export: exported } : {}) }, [
          ['backup', b.id],
          ['verdict', drill.ok ? 'verified' : 'FAILED'],
          ['restore time', drill.restoreMs === undefined ? null : `${(drill.restoreMs / 1000).toFixed(1)}s`],
          ...(drill.checks ?? []).map((c): [string, unknown] => [c.name, `${c.ok ? 'ok' : 'FAILED'}: ${c.detail}`]),
          ['error', drill.error],
          ['realm export', exported ? exportText(exported) : null],
        ]);
        if (!drill.ok) throw new TasksFailed(1);
      },
    );

  backups
    .command('export')
    .description(
      'download a backup’s realm export (made by a drill with --export) as the age ciphertext it is stored as; open it with `age -d -i key.txt file.tar.age | tar -x` (admin only, audited)',
    )
    .argument('<id>', 'backup id (bk_…)')
    .requiredOption('-f, --file <file>', 'where to write the ciphertext (file.tar.age)')
    .option('--export-id <id>', 'this export (bx_…) rather than the newest stored one')
    .action(async (id: string, opts: { file: string; exportId?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const res = await backupsClient(ctx).backups[':id'].export.$post({ param: { id }, query: opts.exportId ? { exportId: opts.exportId } : {} });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new HubError(body.error ?? `hub answered ${res.status}`, res.status);
      }
      // Written beside the target and renamed when complete: a broken download leaves no half file.
      const partial = `${opts.file}.partial`;
      try {
        await pipeline(Readable.fromWeb(res.body as never), createWriteStream(partial, { mode: 0o600 }));
        await rename(partial, opts.file);
      } catch (err) {
        await rm(partial, { force: true });
        throw err;
      }
      const exportId = res.headers.get('x-keyfleet-export-id');
      ctx.output.line(`realm export ${exportId} of ${id} written to ${opts.file} (sha256 ${res.headers.get('x-keyfleet-sha256')})`);
    });

  backups
    .command('prune')
    .description('let backups go by a retention policy (restic semantics, per host); the newest verified backup of a host always stays')
    .option('--host <id>', 'only this host')
    .option('--keep-last <n>', 'keep the newest n')
    .option('--keep-hourly <n>', 'keep the newest of each of the last n hours with a backup')
    .option('--keep-daily <n>', 'keep the newest of each of the last n days with a backup')
    .option('--keep-weekly <n>', 'keep the newest of each of the last n weeks with a backup')
    .option('--keep-monthly <n>', 'keep the newest of each of the last n months with a backup')
    .option('--keep-yearly <n>', 'keep the newest of each of the last n years with a backup')
    .option('--dry-run', 'show what would go, change nothing')
    .action(async (opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const n = (name: string) =>
        opts[name] === undefined ? undefined : positiveInt(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(opts[name]));
      const body = await expectOk(
        await backupsClient(ctx).backups.prune.$post({
          json: {
            host: opts.host as string | undefined,
            keepLast: n('keepLast'),
            keepHourly: n('keepHourly'),
            keepDaily: n('keepDaily'),
            keepWeekly: n('keepWeekly'),
            keepMonthly: n('keepMonthly'),
            keepYearly: n('keepYearly'),
            dryRun: Boolean(opts.dryRun),
          },
        }),
      );
      ctx.output.line(`${body.dryRun ? 'would prune' : 'pruned'} ${body.pruned.length}, keeping ${body.kept}`);
      ctx.output.table(body, body.pruned, [
        ['BACKUP', (b) => b.id],
        ['HOST', (b) => b.hostId],
        ['STARTED', (b) => b.startedAt],
      ]);
    });

  backups
    .command('restore')
    .description(
      'put a backup back onto a host’s Keycloak of the same version (Keycloak is stopped while its database is replaced, then started and verified), installing it first on a host without one; the hub decrypts, the host never gets the identity',
    )
    .argument('<id>', 'backup id (bk_…)')
    .requiredOption('--target <host>', 'the host whose Keycloak is replaced (the backed-up host or another)')
    .option('--identity-secret <name>', 'hub secret holding the age identity (keyfleet secrets set <name> --from-file key.txt)')
    .option('--identity-file <file>', 'an age identity file for this restore only (- for stdin): the hub decrypts with it and forgets it')
    .option(
      '--install-config <file>',
      'a host without Keycloak: keycloak.install fields (YAML/JSON, e.g. database, distUrl) over the backup’s host’s config, which is installed by default',
    )
    .option('--wait', 'wait until restored and verified; exit 1 if it failed')
    .action(
      async (id: string, opts: { target: string; identitySecret?: string; identityFile?: string; installConfig?: string; wait?: boolean }, cmd: Command) => {
        const ctx = await cliContext(cmd);
        const identity = await readIdentityChoice(opts);
        const installConfig = opts.installConfig ? await readConfigFile(opts.installConfig, 'install config', keycloakConfig.partial()) : undefined;
        const started = await expectOk(
          await backupsClient(ctx).backups[':id'].restore.$post({
            param: { id },
            json: { hostId: opts.target, ...identity, ...(installConfig ? { installConfig } : {}) },
          }),
        );
        ctx.output.line(
          `restore of ${id} onto ${started.hostId}: task ${started.taskId}${started.install ? ' (no Keycloak there: the task installs Keycloak of the backup’s version too)' : ''}`,
        );
        if (!opts.wait) return;
        const live = liveProgress(ctx, [started.hostId]);
        try {
          await followEvents(ctx, started.taskId, [started.hostId], live);
        } finally {
          live.stop();
        }
        const t = await expectOk(await ctx.hub.v1.tasks[':id'].$get({ param: { id: started.taskId } }));
        ctx.output.details(t, [
          ['task', t.id],
          ['state', t.state],
          ['result', t.summary],
        ]);
        if (t.state !== 'succeeded') throw new TasksFailed(1);
      },
    );

  return backups;
}
