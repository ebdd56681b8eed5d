import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { hello } from '@keyfleet/proto/v1';
import { stateDirOption } from '../../../state-dir-option.js';
import { artifactInfo, downloadArtifact } from '../artifact-download.js';
import { hostSelf } from '../host-self.js';
import { installAgent, sha256File, type Supervisor } from './install-agent.js';
import { supervise } from './supervise.js';
import { uninstallAgent } from './uninstall-agent.js';

function keyValue(what: string, check?: (key: string, value: string) => string | undefined) {
  return (raw: string, previous: Record<string, string>) => {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`expected ${what}, got "${raw}"`);
    const [key, value] = [raw.slice(0, eq), raw.slice(eq + 1)];
    const problem = check?.(key, value);
    if (problem) throw new InvalidArgumentError(`invalid "${raw}": ${problem}`);
    return { ...previous, [key]: value };
  };
}

const label = keyValue('key=value', (k, v) => {
  const parsed = hello.shape.labels.safeParse({ [k]: v });
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
});
const envSetting = keyValue('KEY=value', (k, v) => (!/^[A-Z_][A-Z0-9_]*$/.test(k) ? 'names are upper case' : /\n/.test(v) ? 'one line only' : undefined));

const fail = (err: unknown) => {
  process.stderr.write(`keyfleet-agent: ${(err as Error).message}\n`);
  process.exitCode = 1;
};

/** `install`, `uninstall`, `supervise` and `status`: the agent putting itself on a host and taking itself off. */
export function installCommands(program: Command): void {
  program
    .command('install')
    .description('install this agent on this host (root): system user, directories, agent.env, enrollment, systemd unit; waits until the hub reports it online')
    .requiredOption('--hub <url>', 'hub base URL as this host reaches it')
    .option('--artifact <file>', 'the agent file to install (default: this one)')
    .option('--sha256 <hex>', 'refuse the artifact unless its sha256 is this')
    .option('--root <dir>', 'install below this directory instead of / (tests); needs --supervisor process', '/')
    .addOption(
      new Option('--supervisor <kind>', 'systemd (default where it runs), or process: a plain background supervisor, not started again after a reboot').choices(
        ['systemd', 'process'],
      ),
    )
    .option('--label <key=value>', 'a label for this host (repeatable; the token’s labels win)', label, {})
    .option('--env <KEY=value>', 'a setting for a new agent.env, e.g. KEYFLEET_NATS_CA=/etc/keyfleet/nats-ca.pem (repeatable)', envSetting, {})
    .option('--wait-online <seconds>', 'how long to wait for the hub to report the host online', '60')
    .addHelpText('after', '\nThe one-time enrollment token comes from KEYFLEET_ENROLL_TOKEN only (never a flag: the process list would show it).')
    .action(
      async (o: {
        hub: string;
        artifact?: string;
        sha256?: string;
        root: string;
        supervisor?: Supervisor;
        label: Record<string, string>;
        env: Record<string, string>;
        waitOnline: string;
      }) => {
        try {
          const artifact = o.artifact ?? fileURLToPath(import.meta.url);
          if (!artifact.endsWith('.mjs'))
            throw new Error(`${artifact} is not an agent artifact: install from keyfleet-agent-<version>.mjs (\`pnpm build\`, or the hub)`);
          if (o.sha256) {
            const actual = await sha256File(artifact);
            if (actual !== o.sha256.toLowerCase())
              throw new Error(`checksum mismatch: ${artifact} has sha256 ${actual}, expected ${o.sha256}; refusing to install it`);
          }
          const waitOnline = Number(o.waitOnline);
          if (!Number.isFinite(waitOnline) || waitOnline <= 0) throw new Error(`--wait-online: expected seconds, got "${o.waitOnline}"`);
          const supervisor = o.supervisor ?? (o.root === '/' && existsSync('/run/systemd/system') ? 'systemd' : undefined);
          if (!supervisor) {
            throw new Error(
              o.root === '/'
                ? 'systemd is not running on this host: pass --supervisor process to run the agent as a plain background process (not started again after a reboot)'
                : '--root needs --supervisor process',
            );
          }
          await installAgent({
            hubUrl: o.hub.replace(/\/+$/, ''),
            artifact,
            root: o.root,
            supervisor,
            labels: o.label,
            env: o.env,
            token: process.env.KEYFLEET_ENROLL_TOKEN || undefined,
            waitOnlineMs: waitOnline * 1000,
            say: (line) => process.stdout.write(`${line}\n`),
          });
        } catch (err) {
          fail(err);
        }
      },
    );

  program
    .command('uninstall')
    .description('remove what `install` made (root); the hub revokes this host’s NATS credential and keeps it listed')
    .option('--root <dir>', 'the directory `install --root` used', '/')
    .option('--force', 'go on when the hub cannot be told, or a Keycloak lives in the state dir (removed too)', false)
    .action(async (o: { root: string; force: boolean }) => {
      try {
        await uninstallAgent({ root: o.root, force: o.force, say: (line) => process.stdout.write(`${line}\n`) });
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('supervise', { hidden: true })
    .description('run the agent and start it again whenever it exits (hosts without systemd; started by install)')
    .addOption(stateDirOption())
    .action(async (o: { stateDir: string }) => {
      try {
        const stamp = () => new Date().toISOString();
        await supervise({ artifact: fileURLToPath(import.meta.url), stateDir: o.stateDir, log: (line) => process.stderr.write(`${stamp()} ${line}\n`) });
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('fetch-artifact', { hidden: true })
    .description('download an agent artifact from the hub as this enrolled host (the install command run again, its token used up)')
    .addOption(stateDirOption())
    .option('--artifact-version <version>', 'default: the one the hub wants')
    .requiredOption('--out <file>', 'where the artifact goes (not checked here: the installer checks it)')
    .requiredOption('--meta <file>', 'where the hub’s description of it (version, sha256) goes')
    .action(async (o: { stateDir: string; artifactVersion?: string; out: string; meta: string }) => {
      try {
        const info = await artifactInfo(o.stateDir, o.artifactVersion);
        await writeFile(o.meta, JSON.stringify(info));
        await downloadArtifact(o.stateDir, info.version, o.out, { maxBytes: info.size });
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('status')
    .description('how the hub sees this host: status, the agent version of its last hello, the version the hub wants')
    .addOption(stateDirOption())
    .action(async (o: { stateDir: string }) => {
      try {
        const s = await hostSelf(o.stateDir);
        process.stdout.write(
          `host ${s.hostId} (${s.hostname}): ${s.status}, agent ${s.agentVersion ?? 'unknown'}${s.wantedVersion && s.wantedVersion !== s.agentVersion ? `, the hub wants ${s.wantedVersion}` : ''}\n`,
        );
      } catch (err) {
        fail(err);
      }
    });
}
