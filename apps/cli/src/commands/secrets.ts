import { Command } from 'commander';
import { cliContext } from '../cli-context.js';
import { expectOk } from '../hub-client.js';
import { readSecretValue } from '../read-secret-value.js';

export function secretsCommand(): Command {
  const secrets = new Command('secrets').description('secrets the hub stores encrypted; task configs refer to them as {$secret: name}');

  secrets
    .command('set <name>')
    .description('store or replace a secret; the value comes from a file, an environment variable or stdin, never an argument')
    .option('--from-file <file>', 'read the value from this file (one trailing newline is dropped)')
    .option('--from-env <var>', 'read the value from this environment variable')
    .action(async (name: string, opts: { fromFile?: string; fromEnv?: string }, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const value = await readSecretValue(opts, { stdin: process.stdin, stderr: process.stderr, env: process.env });
      const body = await expectOk(await hub.v1.secrets[':name'].$put({ param: { name }, json: { value } }));
      if (output.format === 'json') output.json(body);
      else output.line(`${body.created ? 'stored' : 'replaced'} secret ${body.name}; refer to it as {"$secret": "${body.name}"}`);
    });

  secrets
    .command('list')
    .description('list secret names (never values)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = await expectOk(await hub.v1.secrets.$get());
      output.table(body, body.items, [
        ['NAME', (s) => s.name],
        ['UPDATED', (s) => s.updatedAt],
        ['BY', (s) => s.updatedBy],
      ]);
    });

  secrets
    .command('delete <name>')
    .description('delete a secret; queued tasks that refer to it fail when dispatched')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { hub, output } = await cliContext(cmd);
      const body = await expectOk(await hub.v1.secrets[':name'].$delete({ param: { name } }));
      if (output.format === 'json') output.json(body);
      else output.line(`deleted secret ${body.name}`);
    });

  return secrets;
}
