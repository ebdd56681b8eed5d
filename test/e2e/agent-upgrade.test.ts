import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentArtifact, expectStatus, repoRoot, startFleet, waitForTask, type AgentArtifact, type Fleet } from '@keyfleet/test-harness';

const A = '0.1.0-test.a';
const B = '0.1.0-test.b';
const BROKEN = '0.1.0-test.broken';
const TAMPERED = '0.1.0-test.tampered';

/** Runs a program to its end: `out` interleaves stdout and stderr for messages, `stdout` is the output alone. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 240_000): Promise<{ code: number | null; out: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(command, args, { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, stdout });
    });
  });
}

/** A fresh host's root: its standard directories, only root in /etc/passwd. */
async function makeRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kf-upgrade-root-'));
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

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('fleet upgrade of agents through the hub (real hub, NATS, Postgres; 3 installed agents under their supervisor)', () => {
  let fleet: Fleet;
  let artifacts: string;
  let a: AgentArtifact;
  const hosts: Array<{ root: string; hostId: string }> = [];
  const roots: string[] = [];

  beforeAll(async () => {
    artifacts = await mkdtemp(join(tmpdir(), 'kf-upgrade-artifacts-'));
    const fleetStarted = startFleet({ hubEnv: { KEYFLEET_AGENT_ARTIFACT: artifacts, KEYFLEET_AGENT_VERSION: A } });
    const [builtA, b] = await Promise.all([buildAgentArtifact({ outDir: artifacts, version: A }), buildAgentArtifact({ outDir: artifacts, version: B })]);
    a = builtA;
    // A real artifact (its sha256 is right) that says its version but dies whenever it is run as the agent.
    const broken = join(artifacts, `keyfleet-agent-${BROKEN}.mjs`);
    const source = (await readFile(b.file, 'utf8'))
      .replaceAll(B, BROKEN)
      .replace('\n', `\nif (process.argv.includes('run')) { process.stderr.write('simulated start failure of ${BROKEN}\\n'); process.exit(3); }\n`);
    await writeFile(broken, source, { mode: 0o755 });
    await writeFile(`${broken}.sha256`, `${sha256(await readFile(broken))}  ${broken.split('/').at(-1)}\n`);
    // B with one byte changed after the build; its .sha256 still the build's.
    const tampered = join(artifacts, `keyfleet-agent-${TAMPERED}.mjs`);
    const bytes = await readFile(b.file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 2) ^ 1, bytes.length - 2);
    await writeFile(tampered, bytes, { mode: 0o755 });
    await writeFile(`${tampered}.sha256`, `${b.sha256}  keyfleet-agent-${TAMPERED}.mjs\n`);
    fleet = await fleetStarted;

    // Three hosts installed the way operators do, each in its own root under the plain supervisor.
    const installs = [0, 1, 2].map(async () => {
      const root = await makeRoot();
      roots.push(root);
      const printed = await keyfleetAsync('-o', 'json', 'tokens', 'create', '--label', 'role=up', '--install');
      expect(printed.code, printed.out).toBe(0);
      // stdout alone: a warning on stderr must not break the JSON.
      const { installCommand } = JSON.parse(printed.stdout) as { installCommand: string };
      const r = await run('sh', ['-c', `${installCommand} --root ${root} --supervisor process --env KEYFLEET_HEARTBEAT_INTERVAL_MS=500`]);
      expect(r.code, r.out).toBe(0);
      return { root, hostId: r.out.match(/online in the hub as (\S+) /)![1]! };
    });
    hosts.push(...(await Promise.all(installs)));
  });
  afterAll(async () => {
    for (const root of roots) await run('node', [join(root, 'opt/keyfleet/agent/keyfleet-agent.mjs'), 'uninstall', '--root', root, '--force'], {}, 90_000);
    await fleet?.stop();
    await Promise.all([artifacts, ...roots].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
  });

  function keyfleet(...args: string[]) {
    return spawnSync(join(repoRoot, 'keyfleet'), args, {
      env: { ...process.env, KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken },
      encoding: 'utf8',
    });
  }
  const keyfleetAsync = (...args: string[]) => run(join(repoRoot, 'keyfleet'), args, { KEYFLEET_HUB: fleet.hub.url, KEYFLEET_TOKEN: fleet.hub.adminToken });
  const agentVersions = async () => {
    const { items } = await expectStatus(fleet.api.api.v1.hosts.$get({ query: { selector: 'role=up' } }), 200);
    return Object.fromEntries(items.map((h) => [h.id, `${h.agentVersion} ${h.status}`]));
  };

  it('upgrades 3 agents from A to B, 2 at a time; all report B; a task running meanwhile finishes once', async () => {
    // A task in flight on the first host when its upgrade starts: it finishes before the restart.
    const inFlight = await expectStatus(
      fleet.api.api.v1.tasks.$post({ json: { type: 'noop', target: { hostId: hosts[0]!.hostId }, params: { delayMs: 3000 } } }),
      201,
    );
    const started = Date.now();
    const r = await keyfleetAsync('agents', 'upgrade', '--target', 'role=up', '--version', B, '--batch', '2', '--deadline', '60');
    const upgradeMs = Date.now() - started;
    expect(r.code, r.out).toBe(0);
    expect(r.out.match(new RegExp(`${A} → ${B} upgraded`, 'g'))).toHaveLength(3);
    expect(await agentVersions()).toEqual(Object.fromEntries(hosts.map((h) => [h.hostId, `${B} online`])));
    const noop = await waitForTask(fleet.api, inFlight.tasks[0]!.id, ['succeeded', 'failed']);
    expect(noop.state, JSON.stringify(noop.error)).toBe('succeeded');
    // The swap is the file the supervisor runs; the old agent is kept for a rollback.
    const installed = await readFile(join(hosts[0]!.root, 'opt/keyfleet/agent/keyfleet-agent.mjs'));
    expect(installed.toString()).toContain(B);
    expect(sha256(await readFile(join(hosts[0]!.root, 'opt/keyfleet/agent/keyfleet-agent.prev.mjs')))).toBe(a.sha256);
    // Version skew shows in hosts list: the hub still wants A.
    const list = keyfleet('hosts', 'list', '--selector', 'role=up');
    expect(list.stdout).toContain('WANTS');
    expect(list.stdout.split('\n').filter((l) => l.includes(`${B}`) && l.includes(A))).toHaveLength(3);
    console.log(`upgrade of 3 agents A→B, 2 at a time: ${upgradeMs} ms`);
  });

  it('rolls an agent that cannot start back to the previous version on its own, and says why', async () => {
    const [h] = hosts;
    const started = Date.now();
    const r = await keyfleetAsync('agents', 'upgrade', '--target', h!.hostId, '--version', BROKEN, '--deadline', '10');
    const rollbackMs = Date.now() - started;
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`${B} → ${BROKEN} ROLLED BACK: keyfleet-agent ${BROKEN} did not report to the hub within 10 s`);
    expect(r.out).toContain(`simulated start failure of ${BROKEN}`);
    expect(r.out).toContain(`rolled back to ${B}`);
    expect((await agentVersions())[h!.hostId]).toBe(`${B} online`);
    const status = keyfleet('agents', 'status', '--selector', 'role=up');
    expect(status.stdout).toMatch(new RegExp(`${h!.hostId}.*ROLLED BACK: keyfleet-agent ${BROKEN} did not report`));
    console.log(`upgrade to an artifact that cannot start, rolled back: ${rollbackMs} ms`);
  });

  it('refuses a tampered artifact (one byte changed) with a checksum error and keeps the agent as it was', async () => {
    const h = hosts[1]!;
    const before = await readFile(join(h.root, 'opt/keyfleet/agent/keyfleet-agent.mjs'));
    const r = await keyfleetAsync('agents', 'upgrade', '--target', h.hostId, '--version', TAMPERED);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(
      new RegExp(`checksum mismatch: keyfleet-agent ${TAMPERED} from the hub has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; refusing to install it`),
    );
    expect(Buffer.compare(await readFile(join(h.root, 'opt/keyfleet/agent/keyfleet-agent.mjs')), before)).toBe(0);
    expect((await agentVersions())[h.hostId]).toBe(`${B} online`);
    const status = keyfleet('agents', 'status');
    expect(status.stdout).toMatch(new RegExp(`${h.hostId}.*→ ${TAMPERED} FAILED: checksum mismatch`));
  });
});
