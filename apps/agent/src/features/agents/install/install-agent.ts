import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { enroll } from '../../../enroll.js';
import { identityStore } from '../../../identity-store.js';
import { waitUntilReported } from '../host-self.js';
import { agentUnit } from './agent-unit.js';
import { AGENT_USER, type InstallPaths, installPaths } from './install-paths.js';
import { runTool } from './run-tool.js';
import { supervisorFiles } from './supervise.js';
import { ensureSystemUser, groupExists, type UserIds } from './system-user.js';

export type Supervisor = 'systemd' | 'process';

export interface InstallOptions {
  hubUrl: string;
  /** The (already downloaded and checked) artifact to install. */
  artifact: string;
  root: string;
  supervisor: Supervisor;
  labels: Record<string, string>;
  /** Settings written to a new agent.env beside the defaults (e.g. KEYFLEET_NATS_CA). */
  env: Record<string, string>;
  /** One-time enrollment token; needed only when the host is not enrolled yet. */
  token?: string;
  waitOnlineMs: number;
  /** One line per step, as it happens. */
  say: (line: string) => void;
}

export interface InstallResult {
  hostId: string;
  version: string;
  /** Steps that changed something; empty on a run that found everything in place. */
  changed: string[];
}

/** What a step did, for the operator and for "running it twice changes nothing". */
type Outcome = 'created' | 'updated' | 'unchanged';

export const sha256File = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** Lines of agent.env this installer owns: written when the file is missing, never rewritten. */
function agentEnv(paths: InstallPaths, extra: Record<string, string>): string {
  const settings = { KEYFLEET_AGENT_STATE_DIR: paths.stateDir, KEYFLEET_LOG_LEVEL: 'info', ...extra };
  return [
    '# Written by `keyfleet-agent install`; every setting is described in agent.env.example',
    '# (deploy/systemd/ in the Keyfleet repository). Lines are KEY=value, no quotes. Edits stay:',
    '# the installer writes this file only when it is missing.',
    ...Object.entries(settings).map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
}

/** KEY=value lines of agent.env (comments and blanks skipped), for a supervisor that is not systemd. */
export async function readAgentEnv(file: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(file, 'utf8').catch(() => '')).split('\n')) {
    const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (m) env[m[1]!] = m[2]!.trim();
  }
  return env;
}

/** Why the installer cannot run as this user, or undefined when it can. */
export function missingPrivileges(root: string, supervisor: Supervisor): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  if (root !== '/' && supervisor === 'process') return undefined;
  return [
    'keyfleet-agent install needs root: it creates the system user keyfleet-agent, /opt/keyfleet/agent (the agent, owned by that user),',
    '/var/lib/keyfleet-agent (0700), /etc/keyfleet/agent.env (0640) and /etc/systemd/system/keyfleet-agent.service, and starts that unit.',
    'Run the install command as root, or through sudo keeping the token in the environment (out of the process list):',
    "  curl -fsSL <hub>/v1/agent/install.sh | KEYFLEET_ENROLL_TOKEN='kfe_…' sudo --preserve-env=KEYFLEET_ENROLL_TOKEN sh -s -- --hub <hub>",
  ].join('\n');
}

/**
 * Puts the agent on this host: system user, directories with their modes, the artifact, agent.env,
 * enrollment, the supervisor (systemd unit, or a plain background supervisor process), then waits
 * until the hub reports the host online with this version. Every step checks before it acts, so a
 * second run changes nothing; a failing step throws with what failed.
 */
export async function installAgent(o: InstallOptions): Promise<InstallResult> {
  const paths = installPaths(o.root);
  const changed: string[] = [];
  const step = (what: string, outcome: Outcome) => {
    if (outcome !== 'unchanged') changed.push(what);
    o.say(`${outcome === 'unchanged' ? '=' : '+'} ${what}: ${outcome}`);
  };
  const problem = missingPrivileges(o.root, o.supervisor);
  if (problem) throw new Error(problem);
  if (o.supervisor === 'systemd') {
    if (o.root !== '/') throw new Error('--root installs below another directory and cannot use systemd: pass --supervisor process');
    if (!existsSync('/run/systemd/system')) {
      throw new Error(
        'systemd is not running on this host: pass --supervisor process to run the agent as a plain background process (not started again after a reboot)',
      );
    }
  }
  // The agent runs as its own user (under systemd also with ProtectHome=yes): a node in a home dir is out of its reach.
  if (process.getuid?.() === 0 && /^\/(root|home)\//.test(process.execPath)) {
    throw new Error(
      `the agent runs as ${AGENT_USER}, which cannot run ${process.execPath} (inside a home directory): install Node >= 20.19 system-wide (e.g. /usr/bin/node or /usr/local/bin/node) and run the command with it on PATH`,
    );
  }
  // The bootstrap runs with umask 077 for its temp files; directories made here on the way
  // (/opt/keyfleet, …) must stay traversable for the agent user. Each path's own mode is set below.
  process.umask(0o022);
  const version = await artifactVersion(o.artifact);
  const sha256 = await sha256File(o.artifact);

  // The user, or (not root, below --root: tests, development) whoever runs this.
  let owner: UserIds = { uid: process.getuid!(), gid: process.getgid!() };
  if (process.getuid?.() === 0) {
    const user = await ensureSystemUser(o.root, AGENT_USER, paths.stateDir);
    owner = user.ids;
    step(`system user ${AGENT_USER} (uid ${owner.uid})`, user.created ? 'created' : 'unchanged');
  } else {
    o.say(`= not root: files stay owned by uid ${owner.uid}, no system user`);
  }

  step(`${paths.etcDir} (0755, root)`, await ensureDir(paths.etcDir, 0o755, { uid: 0, gid: 0 }));
  step(`${paths.libDir} (0755, ${AGENT_USER})`, await ensureDir(paths.libDir, 0o755, owner));
  step(`${paths.stateDir} (0700, ${AGENT_USER})`, await ensureDir(paths.stateDir, 0o700, owner));

  const installed = existsSync(paths.artifact) ? await sha256File(paths.artifact) : undefined;
  let artifactChanged = false;
  if (installed !== sha256) {
    const tmp = join(paths.libDir, `.${basename(paths.artifact)}.tmp`);
    await copyFile(o.artifact, tmp);
    await setMode(tmp, 0o755, owner);
    await fsyncFile(tmp);
    await rename(tmp, paths.artifact);
    artifactChanged = true;
  }
  step(
    `${paths.artifact} (keyfleet-agent ${version}, sha256 ${sha256.slice(0, 12)}…)`,
    installed === undefined ? 'created' : artifactChanged ? 'updated' : 'unchanged',
  );
  step(`${paths.artifactSha256}`, await ensureFile(paths.artifactSha256, `${sha256}  ${basename(paths.artifact)}\n`, 0o644, owner));
  step(`${paths.bin} -> ${paths.artifact}`, await ensureSymlink(paths.bin, paths.artifact));
  step(
    `${paths.env} (0640, root:${AGENT_USER})`,
    await ensureFile(paths.env, agentEnv(paths, o.env), 0o640, { uid: 0, gid: owner.gid }, { keepExisting: true }),
  );

  let hostId: string;
  if (await identityStore.exists(paths.stateDir)) {
    hostId = (await identityStore.load(paths.stateDir)).identity.hostId;
    step(`enrollment (host ${hostId})`, 'unchanged');
  } else {
    if (!o.token) throw new Error('this host is not enrolled yet and KEYFLEET_ENROLL_TOKEN is not set: create a token with `keyfleet tokens create --install`');
    const identity = await enroll({ hubUrl: o.hubUrl, token: o.token, labels: o.labels, stateDir: paths.stateDir });
    hostId = identity.hostId;
    // Enrolled as root; the agent user must own its identity and credentials.
    await chownTree(paths.stateDir, owner);
    step(`enrollment (host ${hostId})`, 'created');
  }

  if (o.supervisor === 'systemd') {
    const unit = agentUnit({
      node: process.execPath,
      artifact: paths.artifact,
      libDir: paths.libDir,
      envFile: paths.env,
      dockerGroup: await groupExists(o.root, 'docker'),
    });
    const unitOutcome = await ensureFile(paths.unit, unit, 0o644, { uid: 0, gid: 0 });
    step(paths.unit, unitOutcome);
    if (unitOutcome !== 'unchanged') await runTool('systemctl', ['daemon-reload']);
    const enabled = (await runTool('systemctl', ['is-enabled', '--quiet', 'keyfleet-agent.service'], { allowFailure: true })).code === 0;
    if (!enabled) await runTool('systemctl', ['enable', '--quiet', 'keyfleet-agent.service']);
    const active = (await runTool('systemctl', ['is-active', '--quiet', 'keyfleet-agent.service'], { allowFailure: true })).code === 0;
    if (!active || unitOutcome !== 'unchanged' || artifactChanged) await runTool('systemctl', ['restart', 'keyfleet-agent.service']);
    step(
      'keyfleet-agent.service enabled and running',
      enabled && active && unitOutcome === 'unchanged' && !artifactChanged ? 'unchanged' : active ? 'updated' : 'created',
    );
  } else {
    step('agent supervisor (a background process)', await ensureSupervisor(paths, owner, artifactChanged));
  }

  o.say(`  waiting up to ${Math.round(o.waitOnlineMs / 1000)} s for the hub to report host ${hostId} online with agent ${version}`);
  const reported = await waitUntilReported(paths.stateDir, version, o.waitOnlineMs);
  if (!reported.ok) {
    throw new Error(
      `the hub did not report host ${hostId} online with agent ${version} within ${Math.round(o.waitOnlineMs / 1000)} s: ${reported.reason}\n${await agentLogTail(paths, o.supervisor)}`,
    );
  }
  o.say(`keyfleet-agent ${version} is online in the hub as ${hostId} (${reported.self.hostname})${changed.length === 0 ? '; nothing changed' : ''}`);
  return { hostId, version, changed };
}

/** The version an artifact reports (it also proves the file runs on this Node). */
export async function artifactVersion(file: string): Promise<string> {
  const { code, output } = await runTool(process.execPath, [file, '--version'], { allowFailure: true, timeoutMs: 30_000 });
  if (code !== 0 || !/^\S+$/.test(output)) throw new Error(`${file} does not run here (\`node ${file} --version\` exit ${code}): ${output.slice(0, 500)}`);
  return output;
}

async function setMode(path: string, mode: number, owner: UserIds): Promise<void> {
  await chmod(path, mode);
  if (process.getuid?.() === 0) await chown(path, owner.uid, owner.gid);
}

async function ensureDir(path: string, mode: number, owner: UserIds): Promise<Outcome> {
  const before = await stat(path).catch(() => undefined);
  if (!before) {
    // A recursive mkdir would give every parent it makes (/var/lib …) this mode too.
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await mkdir(path, { mode });
    await setMode(path, mode, owner);
    return 'created';
  }
  if (!before.isDirectory()) throw new Error(`${path} exists and is not a directory`);
  const wrongOwner = process.getuid?.() === 0 && (before.uid !== owner.uid || before.gid !== owner.gid);
  if ((before.mode & 0o7777) === mode && !wrongOwner) return 'unchanged';
  await setMode(path, mode, owner);
  return 'updated';
}

async function ensureFile(path: string, content: string, mode: number, owner: UserIds, opts: { keepExisting?: boolean } = {}): Promise<Outcome> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  const info = await stat(path).catch(() => undefined);
  const wrongOwner = process.getuid?.() === 0 && info && (info.uid !== owner.uid || info.gid !== owner.gid);
  const rightContent = current === content || (opts.keepExisting && current !== undefined);
  if (rightContent && info && (info.mode & 0o7777) === mode && !wrongOwner) return 'unchanged';
  if (!rightContent) {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp`;
    await writeFile(tmp, content, { mode });
    await setMode(tmp, mode, owner);
    await rename(tmp, path);
  } else {
    await setMode(path, mode, owner);
  }
  return current === undefined ? 'created' : 'updated';
}

async function ensureSymlink(path: string, target: string): Promise<Outcome> {
  const current = await readlink(path).catch(() => undefined);
  if (current === target) return 'unchanged';
  const exists = await lstat(path).catch(() => undefined);
  if (exists && !exists.isSymbolicLink()) throw new Error(`${path} exists and is not a symlink; move it away first`);
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true });
  await symlink(target, path);
  return exists ? 'updated' : 'created';
}

async function fsyncFile(path: string): Promise<void> {
  const f = await open(path, 'r');
  try {
    await f.sync();
  } finally {
    await f.close();
  }
}

async function chownTree(dir: string, owner: UserIds): Promise<void> {
  if (process.getuid?.() !== 0) return;
  await chown(dir, owner.uid, owner.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, owner);
    else await chown(path, owner.uid, owner.gid);
  }
}

/** The pid of the background supervisor of this state dir, when one runs. */
export async function runningSupervisor(stateDir: string): Promise<number | undefined> {
  const pid = Number((await readFile(supervisorFiles(stateDir).pid, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // The pid file may outlive its process, and the pid be reused: its command line must say it.
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return cmdline.includes('supervise') && cmdline.includes(stateDir) ? pid : undefined;
}

async function ensureSupervisor(paths: InstallPaths, owner: UserIds, artifactChanged: boolean): Promise<Outcome> {
  const running = await runningSupervisor(paths.stateDir);
  if (running) {
    if (!artifactChanged) return 'unchanged';
    // It starts the agent from the (now replaced) artifact file again.
    process.kill(running, 'SIGHUP');
    return 'updated';
  }
  const files = supervisorFiles(paths.stateDir);
  const log = await open(files.log, 'a', 0o600);
  try {
    if (process.getuid?.() === 0) await chown(files.log, owner.uid, owner.gid);
    const child = spawn(process.execPath, [paths.artifact, 'supervise', '--state-dir', paths.stateDir], {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      cwd: paths.stateDir,
      env: { PATH: process.env.PATH, HOME: paths.stateDir, LANG: process.env.LANG ?? 'C.UTF-8', ...(await readAgentEnv(paths.env)) },
      ...(process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {}),
    });
    child.unref();
  } finally {
    await log.close();
  }
  // It writes its pid file first thing; 30 s covers a slow, busy host loading a 3 MB file.
  for (let i = 0; i < 300; i++) {
    if (await runningSupervisor(paths.stateDir)) return 'created';
    await sleep(100);
  }
  throw new Error(`the agent supervisor did not start; ${await agentLogTail(paths, 'process')}`);
}

/** The end of the agent's log, for a failure message. */
export async function agentLogTail(paths: InstallPaths, supervisor: Supervisor): Promise<string> {
  if (supervisor === 'systemd') {
    const { output } = await runTool('journalctl', ['--unit', 'keyfleet-agent.service', '--lines', '20', '--no-pager', '--output', 'cat'], {
      allowFailure: true,
    });
    return `last lines of \`journalctl -u keyfleet-agent\`:\n${output}`;
  }
  const text = await readFile(supervisorFiles(paths.stateDir).log, 'utf8').catch(() => '');
  return `last lines of ${supervisorFiles(paths.stateDir).log}:\n${text.trimEnd().split('\n').slice(-20).join('\n')}`;
}
