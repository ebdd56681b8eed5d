#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '@keyfleet/log';
import { hello } from '@keyfleet/proto/v1';
import { startAgent } from './agent.js';
import { AGENT_VERSION } from './agent-version.js';
import { enroll } from './enroll.js';
import { features } from './features/index.js';
import { stateDirOption } from './state-dir-option.js';

function collectLabel(value: string, labels: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  const next = { ...labels, [value.slice(0, eq)]: value.slice(eq + 1) };
  const parsed = hello.shape.labels.safeParse(next);
  if (!parsed.success) throw new InvalidArgumentError(`invalid label "${value}": ${parsed.error.issues[0]?.message}`);
  return next;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const program = new Command('keyfleet-agent').description('Keyfleet agent: runs hub tasks on this Keycloak host').version(AGENT_VERSION);

program
  .command('enroll')
  .description('enroll this host with a hub using a one-time token')
  .requiredOption('--hub <url>', 'hub base URL, e.g. https://keyfleet.example.com')
  .addOption(new Option('--token <token>', 'one-time enrollment token').env('KEYFLEET_ENROLL_TOKEN').makeOptionMandatory())
  .option('--label <key=value>', 'a label for this host (repeatable)', collectLabel, {} as Record<string, string>)
  .addOption(stateDirOption())
  .option('--force', 'replace an existing enrollment', false)
  .action(async (o: { hub: string; token: string; label: Record<string, string>; stateDir: string; force: boolean }) => {
    try {
      const identity = await enroll({ hubUrl: o.hub, token: o.token, labels: o.label, stateDir: o.stateDir, force: o.force });
      process.stdout.write(`enrolled as ${identity.hostId}; identity stored in ${o.stateDir}\n`);
    } catch (err) {
      process.stderr.write(`enrollment failed: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });

program
  .command('run')
  .description('connect to the hub and execute tasks until SIGINT/SIGTERM')
  .addOption(stateDirOption())
  .addOption(new Option('--heartbeat-interval <ms>', 'heartbeat interval').env('KEYFLEET_HEARTBEAT_INTERVAL_MS').argParser(positiveInt).default(15_000))
  .addOption(new Option('--concurrency <n>', 'tasks run at the same time').env('KEYFLEET_AGENT_CONCURRENCY').argParser(positiveInt).default(4))
  .addOption(new Option('--nats-url <urls>', 'NATS server URL(s), comma-separated; overrides the enrolled ones').env('KEYFLEET_NATS_URL'))
  .addOption(new Option('--nats-ca <file>', 'PEM file of the CA for the NATS TLS certificates').env('KEYFLEET_NATS_CA'))
  .action(async (o: { stateDir: string; heartbeatInterval: number; concurrency: number; natsUrl?: string; natsCa?: string }) => {
    const log = createLogger('keyfleet-agent');
    const startup = new AbortController();
    let stop: (() => Promise<void>) | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (startup.signal.aborted) {
        log.warn({ signal }, 'second signal; exiting immediately');
        process.exit(130);
      }
      log.info({ signal }, 'stopping');
      startup.abort();
      void stop?.().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const natsCa = o.natsCa ? await readFile(o.natsCa, 'utf8') : undefined;
      const agent = await startAgent({
        stateDir: o.stateDir,
        heartbeatIntervalMs: o.heartbeatInterval,
        concurrency: o.concurrency,
        natsServers: o.natsUrl
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        natsCa,
        features,
        log,
        signal: startup.signal,
      });
      stop = agent.stop;
      if (startup.signal.aborted) await agent.stop();
    } catch (err) {
      if (startup.signal.aborted) return;
      log.fatal({ reason: (err as Error).message }, 'agent could not start');
      process.stderr.write(`keyfleet-agent: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });

for (const addCommands of features.commands) addCommands(program);

await program.parseAsync();
