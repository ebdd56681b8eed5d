import { readdir } from 'node:fs/promises';
import { createLogger } from '@keyfleet/log';
import { NatsAuthority } from '@keyfleet/nats-auth';
import { Command } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { startHub, type Hub } from './hub.js';
import { hubOptionsFromEnv } from './hub-options-from-env.js';
import { createDb } from './store/create-db.js';
import { migrateUp, migrationStatus } from './store/migrator.js';
import { refuseRenamedEnv } from './refuse-renamed-env.js';
import { hubFeatures } from './features/index.js';

export interface ProgramIo {
  env: NodeJS.ProcessEnv;
  /** Command output (the initial admin token line included); logs go to stderr. */
  out(line: string): void;
  /** Called once `serve` is up, with the hub to close on a signal. */
  onServing?(hub: Hub): void;
}

/** The `keyfleet-hub` command line: serve, migrate up|status, nats-init. */
export function createProgram(io: ProgramIo): Command {
  const program = new Command('keyfleet-hub').description('Keyfleet hub: HTTP API, task dispatcher and fleet state').version(pkg.version).showHelpAfterError();

  program
    .command('serve')
    .description('run the hub (configured by environment variables; see the README)')
    .action(async () => {
      const hub = await startHub({ ...(await hubOptionsFromEnv(io.env)), log: createLogger('hub') });
      // Printed once, to stdout only, so a setup script can capture it; never logged.
      if (hub.adminToken) io.out(`initial admin token: ${hub.adminToken}`);
      io.out(`hub listening on ${hub.url}`);
      io.onServing?.(hub);
    });

  program
    .command('migrate')
    .description('apply pending database migrations, or show which are applied')
    .argument('<action>', 'up | status')
    .action(async (action: string) => {
      if (action !== 'up' && action !== 'status') throw new Error(`unknown migrate action "${action}"; use "up" or "status"`);
      refuseRenamedEnv(io.env);
      const handle = await createDb({ databaseUrl: io.env.KEYFLEET_DATABASE_URL || undefined, dataDir: io.env.KEYFLEET_DATA_DIR || undefined });
      try {
        if (action === 'up') {
          const applied = await migrateUp(handle.db, hubFeatures);
          io.out(applied.length === 0 ? 'database is up to date' : applied.map((m) => `applied ${m.migrationName}`).join('\n'));
        } else {
          for (const m of await migrationStatus(handle.db, hubFeatures))
            io.out(`${m.name}\t${m.appliedAt ? `applied ${m.appliedAt.toISOString()}` : 'pending'}`);
        }
      } finally {
        await handle.close();
      }
    });

  program
    .command('nats-init')
    .description('create the NATS operator, accounts, server auth config and hub credentials')
    .requiredOption('--dir <dir>', 'directory to write auth.conf, hub.creds and keys.json into')
    .option('--resolver-dir <dir>', 'where nats-server keeps account JWTs and revocations; it must be able to write there (default: <dir>/jwt)')
    .option('--force', 'write into a non-empty directory, replacing existing keys', false)
    .option('--upgrade', 'rewrite auth.conf of an existing dir from its keys.json for this version (enrolled agents keep working)', false)
    .action(async (opts: { dir: string; resolverDir?: string; force: boolean; upgrade: boolean }) => {
      const existing = await readdir(opts.dir).catch(() => [] as string[]);
      if (opts.upgrade && !existing.includes('keys.json')) throw new Error(`${opts.dir} has no keys.json to upgrade; run nats-init without --upgrade`);
      if (existing.length > 0 && !opts.force && !opts.upgrade) {
        throw new Error(
          `${opts.dir} is not empty; refusing to replace NATS keys (agents enrolled with them would be locked out). Use --upgrade to keep them, --force to overwrite.`,
        );
      }
      const files = opts.upgrade ? await NatsAuthority.upgrade(opts.dir, opts) : await NatsAuthority.create(opts.dir, opts);
      io.out(`auth.conf (include it in nats-server.conf): ${files.authConfPath}`);
      io.out(`account JWTs (nats-server writes here):    ${files.resolverDir}`);
      io.out(`hub.creds (KEYFLEET_NATS_CREDS for the hub): ${files.hubCredsPath}`);
      io.out(`keys.json (secret; KEYFLEET_NATS_AUTH_DIR):  ${files.keysPath}`);
      io.out(`revocation.creds (secret; the hub's without keys.json): ${files.revocationCredsPath}`);
    });

  return program;
}
