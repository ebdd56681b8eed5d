import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { connect, jwtAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v1 from '@keyfleet/proto/v1';
import {
  buildAgentArtifact,
  createEnrollmentToken,
  expectStatus,
  repoRoot,
  ServiceProcess,
  startFleet,
  waitForTask,
  type AgentArtifact,
  type Fleet,
} from '@keyfleet/test-harness';

const VERSION = '0.1.0-test.install';

/** Runs a shell command line to its end; the output is kept for the assertion messages. */
function sh(command: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', command], { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** No Node resolution from here can reach a node_modules: the artifact must carry everything. */
function nodeModulesOnPath(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return join(d, 'node_modules');
    if (dirname(d) === d) return undefined;
  }
}

/** A root for one install, the way a fresh host starts: its standard directories, only root in /etc/passwd. */
async function makeRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kf-install-root-'));
  // The agent user must be able to reach its files below it.
  await chmod(root, 0o755);
  for (const dir of ['etc', 'opt', 'usr/local/bin', 'var/lib']) await mkdir(join(root, dir), { recursive: true, mode: 0o755 });
  for (const [file, mode] of [
    ['passwd', 0o644],
    ['group', 0o644],
    ['shadow', 0o640],
    ['gshadow', 0o640],
  ] as const) {
    const line = (await readFile(join('/etc', file), 'utf8')).split('\n').find((l) => l.startsWith('root:'));
    await writeFile(join(root, 'etc', file), `${line}\n`, { mode });
  }
  return root;
}

/**
 * Every path below `root` with its type, mode, owner and content hash (a symlink's target).
 * Left out: the agent's own churn in its state dir (journal, logs, pids) — its identity stays in —
 * and shadow-utils' backups of /etc files (passwd- …), which any useradd rewrites.
 */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (/^etc\/[a-z]+-$/.test(rel)) continue;
      if (rel.startsWith('var/lib/keyfleet-agent/') && !/\/(identity|credentials)\.json$/.test(rel)) continue;
      const s = await lstat(path);
      const meta = `${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid}`;
      if (s.isSymbolicLink()) out[rel] = `link ${await readlink(path)}`;
      else if (s.isDirectory()) {
        out[rel] = `dir ${meta}`;
        await walk(path);
      } else
        out[rel] = `file ${meta} ${createHash('sha256')
          .update(await readFile(path))
          .digest('hex')}`;
    }
  };
  await walk(root);
  return out;
}

describe('the agent artifact and the one install command (real hub, NATS, Postgres; temporary roots, the agent under its plain supervisor)', () => {
  let fleet: Fleet;
  let artifacts: string;
  let artifact: AgentArtifact;
  const roots: string[] = [];
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    artifacts = await mkdtemp(join(tmpdir(), 'kf-install-artifacts-'));
    artifact = await buildAgentArtifact({ outDir: artifacts, version: VERSION });
    // One byte changed after the build, its .sha256 left as the build wrote it.
    const tampered = join(artifacts, 'keyfleet-agent-0.1.0-test.tampered.mjs');
    const bytes = await readFile(artifact.file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 2) ^ 1, bytes.length - 2);
    await writeFile(tampered, bytes);
    await writeFile(`${tampered}.sha256`, `${artifact.sha256}  keyfleet-agent-0.1.0-test.tampered.mjs\n`);
    fleet = await startFleet({ hubEnv: { KEYFLEET_AGENT_ARTIFACT: artifacts, KEYFLEET_AGENT_VERSION: VERSION } });
  });
  afterAll(async () => {
    // A failed test may leave an agent running below its root.
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    for (const root of roots) await sh(`node ${join(root, 'opt/keyfleet/agent/keyfleet-agent.mjs')} uninstall --root ${root} --force`, {}, 90_000);
    await fleet?.stop();
    await Promise.all([artifacts, ...roots].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
  });

  const keyfleet = (...args: string[]) =>
    spawnSync(join(repoRoot, 'keyfleet'), args, {
      env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken },
      encoding: 'utf8',
    });

  /** `tokens create --install` as an operator runs it; the install line, as JSON gives it. */
  const installCommand = (...extra: string[]) => {
    const r = keyfleet('-o', 'json', 'tokens', 'create', '--label', 'env=prod', '--install', ...extra);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { token: string; installCommand: string; uninstallCommand: string };
  };

  it('is one file that, copied alone into an empty directory, prints its version, enrolls and runs system.info', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-artifact-host-'));
    roots.push(dir);
    expect(nodeModulesOnPath(dir)).toBeUndefined();
    const file = join(dir, 'keyfleet-agent.mjs');
    await copyFile(artifact.file, file);
    // Plain node, nothing inherited that could find packages for it.
    const bare = { NODE_PATH: '', NODE_OPTIONS: '' };
    const version = spawnSync(process.execPath, [file, '--version'], { cwd: dir, env: { ...process.env, ...bare }, encoding: 'utf8' });
    expect(version.stdout.trim(), version.stderr).toBe(VERSION);
    const check = spawnSync('sha256sum', ['-c', `${artifact.file}.sha256`], { cwd: artifacts, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);

    const stateDir = join(dir, 'state');
    const token = await createEnrollmentToken(fleet.api, { role: 'artifact' });
    const enroll = new ServiceProcess(
      'artifact-enroll',
      file,
      ['enroll', '--hub', fleet.hub.url, '--state-dir', stateDir],
      { ...bare, KEYFLEET_ENROLL_TOKEN: token },
      {
        plain: true,
        cwd: dir,
      },
    ).start();
    const [, hostId] = await enroll.waitFor(/enrolled as (\S+);/);
    expect(await enroll.exited()).toBe(0);
    const run = new ServiceProcess(
      'artifact-agent',
      file,
      ['run', '--state-dir', stateDir],
      { ...bare, KEYFLEET_HEARTBEAT_INTERVAL_MS: '500' },
      {
        plain: true,
        cwd: dir,
      },
    ).start();
    procs.push(run);
    await run.waitFor(/hub welcomed the agent/);
    expect((await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: hostId! } }), 200)).agentVersion).toBe(VERSION);
    const created = await expectStatus(fleet.api.api.v1.tasks.$post({ json: { type: 'system.info', target: { hostId: hostId! } } }), 201);
    const task = await waitForTask(fleet.api, created.tasks[0]!.id, ['succeeded', 'failed']);
    expect(task.state, JSON.stringify(task.error)).toBe('succeeded');
    const info = v1.taskDefinitions['system.info'].output.parse(task.output);
    expect(info.memory.totalBytes).toBeGreaterThan(0);
    expect(info.os.kernel).not.toBe('');
    await run.kill('SIGTERM');
  });

  it('installs an agent that comes online; run twice, nothing changes; --uninstall leaves nothing and the credential is refused', async () => {
    const root = await makeRoot();
    roots.push(root);
    const before = await snapshot(root);
    const printed = installCommand();
    // The token travels in the environment of sh, never as an argument of any process.
    expect(printed.installCommand).toMatch(/\| KEYFLEET_ENROLL_TOKEN=\S+ sh -s -- --hub /);
    expect(printed.installCommand.split('| ')[1]!.split(' sh ')[1]).not.toContain(printed.token);
    const testArgs = ` --root ${root} --supervisor process --env KEYFLEET_HEARTBEAT_INTERVAL_MS=500`;

    let started = Date.now();
    const first = await sh(printed.installCommand + testArgs);
    const firstMs = Date.now() - started;
    expect(first.code, first.out).toBe(0);
    const hostId = first.out.match(/online in the hub as (\S+) /)?.[1];
    expect(hostId, first.out).toBeDefined();
    const host = await expectStatus(fleet.api.api.v1.hosts[':id'].$get({ param: { id: hostId! } }), 200);
    expect(host).toMatchObject({ status: 'online', agentVersion: VERSION, labels: { env: 'prod' } });

    const installed = await snapshot(root);
    const agentUser = (await readFile(join(root, 'etc/passwd'), 'utf8')).match(/^keyfleet-agent:x:(\d+):(\d+):/m);
    expect(agentUser).not.toBeNull();
    const owner = `${agentUser![1]}:${agentUser![2]}`;
    expect(installed['var/lib/keyfleet-agent']).toBe(`dir 700 ${owner}`);
    expect(installed['opt/keyfleet/agent']).toBe(`dir 755 ${owner}`);
    expect(installed['opt/keyfleet/agent/keyfleet-agent.mjs']).toBe(`file 755 ${owner} ${artifact.sha256}`);
    expect(installed['etc/keyfleet/agent.env']).toMatch(new RegExp(`^file 640 0:${agentUser![2]} `));
    expect(installed['var/lib/keyfleet-agent/credentials.json']).toMatch(new RegExp(`^file 600 ${owner} `));
    expect(installed['usr/local/bin/keyfleet-agent']).toBe(`link ${join(root, 'opt/keyfleet/agent/keyfleet-agent.mjs')}`);
    // The agent runs as its user, not as root.
    const ps = spawnSync('ps', ['-eo', 'uid=,args='], { encoding: 'utf8' }).stdout;
    const agentLine = ps.split('\n').find((l) => l.includes(join(root, 'opt/keyfleet/agent/keyfleet-agent.mjs')) && l.includes(' run '));
    expect(agentLine?.trim().split(/\s+/)[0], ps).toBe(agentUser![1]);

    started = Date.now();
    const second = await sh(printed.installCommand + testArgs);
    const secondMs = Date.now() - started;
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('already enrolled; downloading as the host');
    expect(second.out).toContain('; nothing changed');
    expect(second.out).not.toMatch(/^\+ /m);
    expect(await snapshot(root)).toEqual(installed);

    const credentials = JSON.parse(await readFile(join(root, 'var/lib/keyfleet-agent/credentials.json'), 'utf8')) as { jwt: string; seed: string };
    started = Date.now();
    const removed = await sh(`${printed.uninstallCommand} --root ${root}`);
    const uninstallMs = Date.now() - started;
    expect(removed.code, removed.out).toBe(0);
    expect(removed.out).toContain(`host ${hostId} left the hub`);
    expect(await snapshot(root)).toEqual(before);
    expect(spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout).not.toContain(root);
    // Its credential is refused by NATS now.
    const refused = await connect({
      servers: fleet.nats.url,
      authenticator: jwtAuthenticator(credentials.jwt, new TextEncoder().encode(credentials.seed)),
      reconnect: false,
      timeout: 5_000,
    }).then(
      async (nc) => {
        await nc.close();
        return 'connected';
      },
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/authoriz|revoked/i);
    console.log(`install ${firstMs} ms, again ${secondMs} ms, uninstall ${uninstallMs} ms`);
  });

  it('refuses an artifact whose sha256 does not match, and installs nothing', async () => {
    const root = await makeRoot();
    roots.push(root);
    const before = await snapshot(root);
    const printed = installCommand('--agent-version', '0.1.0-test.tampered');
    const r = await sh(`${printed.installCommand} --root ${root} --supervisor process`);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/checksum mismatch: keyfleet-agent 0\.1\.0-test\.tampered from .* has sha256 [0-9a-f]{64}, but the hub announced [0-9a-f]{64}/);
    expect(await snapshot(root)).toEqual(before);
  });

  it('says exactly what it needs when not run as root', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'kf-install-nonroot-')), 'keyfleet-agent.mjs');
    roots.push(join(file, '..'));
    await copyFile(artifact.file, file);
    await chmod(join(file, '..'), 0o755);
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, file, 'install', '--hub', fleet.hub.url, '--supervisor', 'process'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('keyfleet-agent install needs root: it creates the system user keyfleet-agent');
    expect(r.stderr).toContain('sudo --preserve-env=KEYFLEET_ENROLL_TOKEN');
  });
});
