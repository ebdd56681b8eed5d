import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as v1 from '@keyfleet/proto/v1';
import { type AgentProcess, expectStatus, type Fleet, repoRoot, startFleet, waitForTask } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './run-cli.js';

const exec = promisify(execFile);
const sh = (cmd: string, ...args: string[]) => exec(cmd, args);

/**
 * The firewall's dead-man switch with a real agent in a network namespace of its own: it reaches
 * NATS only through a veth pair (a relay on the host side forwards to the test's nats-server), and
 * nft changes only that namespace. A ruleset that lets the agent reach NATS is kept; one that
 * blocks it (a wrong NATS endpoint in the parameters) is put back by the agent itself.
 */
describe('hardening firewall with a dead-man switch, agent in a network namespace', () => {
  const id = randomBytes(3).toString('hex');
  const ns = `kf-fw-${id}`;
  const hostIf = `kfh${id}`;
  const octet = 16 + (Number.parseInt(id, 16) % 200);
  const hostIp = `10.231.${octet}.1`;
  const nsIp = `10.231.${octet}.2`;
  let fleet: Fleet;
  let enrolled: AgentProcess;
  let relay: Server;
  let relayPort: number;
  let root: string;
  let agent: ChildProcess;
  const agentOutput: string[] = [];
  const sockets = new Set<Socket>();

  const firewall: Firewall = { sshCidrs: ['10.0.0.0/8'], publicPorts: [443], monitoringCidrs: [hostIp.replace(/\.1$/, '.0/30')], confirmSeconds: 5 };
  /** The same parameters as a profile file for the CLI (audits must check the ruleset these parameters make). */
  const profileFile = join(tmpdir(), `kf-fw-profile-${id}.json`);
  const nsRun = (...args: string[]) => sh('ip', 'netns', 'exec', ns, ...args);
  type ApplyOut = ReturnType<(typeof v1.taskDefinitions)['hardening.apply']['output']['parse']>;
  type Firewall = {
    sshCidrs: string[];
    publicPorts: number[];
    monitoringCidrs: string[];
    confirmSeconds: number;
    natsEndpoints?: Array<{ host: string; port: number }>;
  };

  async function apply(firewall: Firewall): Promise<{ out: ApplyOut; ms: number }> {
    const started = Date.now();
    const created = await expectStatus(
      fleet.api.api.v1.tasks.$post({
        json: { type: 'hardening.apply', target: { hostId: enrolled.hostId }, params: { rules: ['net.firewall'], params: { firewall } } },
      }),
      201,
    );
    const task = await waitForTask(fleet.api, created.tasks[0]!.id, ['succeeded', 'failed'], 60_000);
    expect(task.error).toBeNull();
    return { out: v1.taskDefinitions['hardening.apply'].output.parse(task.output), ms: Date.now() - started };
  }
  const keyfleetTable = async () => (await nsRun('nft', 'list', 'tables')).stdout.includes('inet keyfleet');

  beforeAll(async () => {
    fleet = await startFleet();
    enrolled = await fleet.addAgent({ start: false });
    root = await mkdtemp(join(tmpdir(), 'kf-fw-root-'));
    await writeFile(profileFile, JSON.stringify({ params: { firewall } }));
    await sh('ip', 'netns', 'add', ns);
    await sh('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', `kfn${id}`, 'netns', ns);
    await sh('ip', 'addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    await sh('ip', 'link', 'set', hostIf, 'up');
    await nsRun('ip', 'addr', 'add', `${nsIp}/30`, 'dev', `kfn${id}`);
    await nsRun('ip', 'link', 'set', `kfn${id}`, 'up');
    await nsRun('ip', 'link', 'set', 'lo', 'up');
    // NATS listens on loopback only; the relay is the agent's way to it from the namespace.
    const nats = new URL(fleet.nats.url);
    relay = createServer((client) => {
      const upstream = connect({ host: nats.hostname, port: Number(nats.port) });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, hostIp, resolve));
    relayPort = (relay.address() as { port: number }).port;

    agent = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(repoRoot, 'apps/agent/src/main.ts'), 'run', '--state-dir', enrolled.stateDir],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          KEYFLEET_LOG_LEVEL: 'debug',
          KEYFLEET_HEARTBEAT_INTERVAL_MS: '500',
          KEYFLEET_NATS_URL: `nats://${hostIp}:${relayPort}`,
          // Everything but the firewall (which is the namespace's own) stays inside a temp root.
          KEYFLEET_HARDENING_ROOT: root,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const welcomed = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const line of d.toString().split('\n')) {
          if (line) agentOutput.push(line);
          if (line.includes('hub welcomed the agent')) resolve();
        }
      };
      agent.stdout!.on('data', onData);
      agent.stderr!.on('data', onData);
      agent.once('exit', (code) => reject(new Error(`agent in ${ns} exited (${code}); output:\n${agentOutput.slice(-30).join('\n')}`)));
    });
    await welcomed;
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((resolve) => agent.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    for (const s of sockets) s.destroy();
    relay?.close();
    await sh('ip', 'netns', 'del', ns).catch(() => undefined);
    await sh('ip', 'link', 'del', hostIf).catch(() => undefined);
    await fleet?.stop();
    if (root) await rm(root, { recursive: true, force: true });
    await rm(profileFile, { force: true });
  });

  it('keeps a ruleset through which the agent reaches NATS, records the drift an audit finds in it, and rollback removes it', async () => {
    const { out } = await apply(firewall);
    expect(out.refused).toEqual([]);
    // The table, and the boot config (under the agent's hardening root) that brings it back after a reboot.
    expect(out.changes.map((c) => [c.rule, c.target])).toEqual([
      ['net.firewall', 'nft table inet keyfleet'],
      ['net.firewall', '/etc/nftables.conf'],
    ]);
    expect(await readFile(join(root, 'etc/nftables.conf'), 'utf8')).toContain(`ip daddr ${hostIp} tcp dport ${relayPort} accept`);
    expect(out.report.findings.find((f) => f.rule === 'net.firewall')?.status).toBe('pass');
    const table = (await nsRun('nft', 'list', 'table', 'inet', 'keyfleet')).stdout;
    expect(table).toContain(`ip daddr ${hostIp} tcp dport ${relayPort} accept`);

    // Someone opens Postgres by hand; the next audit (through the CLI) sees it and the hub records the drift.
    await nsRun('nft', 'add', 'rule', 'inet', 'keyfleet', 'input', 'tcp', 'dport', '5432', 'accept');
    const audit = await runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, 'hardening', 'audit', '--target', enrolled.hostId, '--profile-file', profileFile);
    expect(audit.stdout).toMatch(/net\.firewall\s+FAIL\s+table inet keyfleet changed since it was applied/);
    const shown = await runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, 'hardening', 'show', enrolled.hostId);
    expect(shown.stdout).toMatch(/drift\s+net\.firewall pass→fail/);

    const rolled = await expectStatus(fleet.api.api.v1.tasks.$post({ json: { type: 'hardening.rollback', target: { hostId: enrolled.hostId } } }), 201);
    const done = await waitForTask(fleet.api, rolled.tasks[0]!.id, ['succeeded', 'failed'], 60_000);
    expect(done.state).toBe('succeeded');
    expect(await keyfleetTable()).toBe(false);
    await expect(readFile(join(root, 'etc/nftables.conf'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('puts the old ruleset back by itself when the new one blocks NATS', async () => {
    // A wrong NATS endpoint: the ruleset lets the agent out to port 1 only, so no new connection reaches NATS.
    const { out, ms } = await apply({ ...firewall, natsEndpoints: [{ host: hostIp, port: 1 }] });
    expect(out.refused).toEqual([
      { rule: 'net.firewall', reason: 'reverted: the agent could not reach NATS through the new ruleset within 5s, so the previous one is back' },
    ]);
    expect(out.changes).toEqual([]);
    expect(out.rollbackId).toBeUndefined();
    expect(await keyfleetTable()).toBe(false);
    // A ruleset the switch reverted never reaches the boot config.
    await expect(readFile(join(root, 'etc/nftables.conf'), 'utf8')).rejects.toThrow(/ENOENT/);
    expect(ms).toBeGreaterThanOrEqual(5_000);
    expect(ms).toBeLessThan(30_000);
    // Through the reverted firewall a fresh connection from the namespace reaches NATS again.
    const greeting = await nsRun(
      process.execPath,
      '-e',
      `require('net').connect(${relayPort}, '${hostIp}').once('data', (d) => { console.log(String(d).slice(0, 4)); process.exit(0); })`,
    );
    expect(greeting.stdout.trim()).toBe('INFO');
  });

  it('puts the old ruleset back even when the agent dies during the window (the backstop outside the agent)', async () => {
    const created = await expectStatus(
      fleet.api.api.v1.tasks.$post({
        json: {
          type: 'hardening.apply',
          target: { hostId: enrolled.hostId },
          params: { rules: ['net.firewall'], params: { firewall: { ...firewall, natsEndpoints: [{ host: hostIp, port: 1 }] } } },
        },
      }),
      201,
    );
    await vi.waitFor(async () => expect(await keyfleetTable()).toBe(true), { timeout: 30_000, interval: 100 });
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    agent.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    // The agent's own switch died with it; the backstop acts confirmSeconds + 10 s after the apply began.
    await vi.waitFor(async () => expect(await keyfleetTable()).toBe(false), { timeout: 30_000, interval: 250 });
    expect(Date.now() - killedAt).toBeLessThan(5_000 + 10_000 + 2_000);
    expect(created.tasks[0]!.state).toBe('queued');
  });
});
