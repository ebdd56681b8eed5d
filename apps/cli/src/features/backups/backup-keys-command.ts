import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { cliContext } from '../../cli-context.js';
import { CliExit } from '../../cli-exit.js';
import { expectOk } from '../../hub-client.js';
import { backupsClient } from './backups-client.js';

/** The recipient in a file: a bare `age1…` line, or the `# public key: age1…` comment age-keygen writes. */
export function recipientFromText(text: string): string | undefined {
  return /\b(age1[02-9ac-hj-np-z]{58})\b/.exec(text)?.[1];
}

export function backupKeysCommand(): Command {
  const keys = new Command('backup-keys').description('backup recipients: the age public keys every new backup is encrypted to');

  keys
    .command('add')
    .description('add a recipient (age1…); make the identity offline with age-keygen and keep it there')
    .requiredOption('--name <name>', 'what this key is (e.g. "dr-vault-2026")')
    .argument('[recipient]', 'the public key, age1…')
    .option('--from-file <file>', 'read the public key from a file (age-keygen output or a recipients file); identities in it are never sent')
    .action(async (recipient: string | undefined, opts: { name: string; fromFile?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const value = opts.fromFile ? recipientFromText(await readFile(opts.fromFile, 'utf8')) : recipient;
      if (!value) throw new CliExit(2, opts.fromFile ? `no age1… public key in ${opts.fromFile}` : 'give the recipient (age1…) or --from-file');
      const key = await expectOk(await backupsClient(ctx)['backup-keys'].$post({ json: { name: opts.name, recipient: value } }));
      ctx.output.details(key, [
        ['id', key.id],
        ['name', key.name],
        ['recipient', key.recipient],
      ]);
    });

  keys
    .command('list')
    .description('recipients, active and retired')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await backupsClient(ctx)['backup-keys'].$get());
      ctx.output.table(body, body.items, [
        ['ID', (k) => k.id],
        ['NAME', (k) => k.name],
        ['RECIPIENT', (k) => k.recipient],
        ['ADDED', (k) => k.createdAt],
        ['RETIRED', (k) => k.retiredAt],
      ]);
    });

  keys
    .command('retire')
    .description('stop encrypting new backups to a recipient (existing backups stay encrypted to it)')
    .argument('<id>', 'backup key id (bkey_…)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const key = await expectOk(await backupsClient(ctx)['backup-keys'][':id'].retire.$post({ param: { id } }));
      ctx.output.details(key, [
        ['id', key.id],
        ['retired', key.retiredAt],
      ]);
    });

  return keys;
}
