import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskContext } from '../../../task-handler.js';
import { type CommandRunner, commandRunner } from '../command-runner.js';
import { maintenanceKeycloakVersion, versionAllowed } from './maintenance-keycloak-version.js';
import { maintenanceScan } from './maintenance-scan.js';
import { maintenanceUpdates } from './maintenance-updates.js';

const ctx = (stateDir = '/nonexistent'): TaskContext =>
  ({ signal: new AbortController().signal, progress: () => {}, log: createLogger('test', { level: 'silent' }), stateDir }) as unknown as TaskContext;

/**
 * A temp root APT treats as a Debian host: two packages installed, and a local archive labelled
 * like Debian's security archive offering a newer version of one of them. Real apt-get reads it
 * (update from a file: source, then the simulation); nothing of the real host is read or changed.
 */
async function aptRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kf-apt-root-'));
  for (const d of [
    'etc/apt/apt.conf.d',
    'etc/apt/preferences.d',
    'etc/apt/sources.list.d',
    'var/lib/dpkg',
    'var/lib/apt/lists/partial',
    'var/cache/apt/archives/partial',
    'repo',
  ])
    await mkdir(join(root, d), { recursive: true });
  const stanza = (name: string, version: string, extra: string) =>
    `Package: ${name}\n${extra}Version: ${version}\nArchitecture: all\nMaintainer: Test <t@example.com>\nInstalled-Size: 10\nDescription: test\n`;
  const installed = (name: string, version: string) => stanza(name, version, 'Status: install ok installed\nPriority: optional\nSection: libs\n');
  await writeFile(join(root, 'var/lib/dpkg/status'), `${installed('libkf-demo', '1.0-1')}\n${installed('kf-tool', '2.0-1')}\n`);
  await writeFile(
    join(root, 'repo/Packages'),
    `${stanza('libkf-demo', '1.0-2', `Filename: ./libkf-demo_1.0-2_all.deb\nSize: 100\nSHA256: ${'0'.repeat(64)}\n`)}\n`,
  );
  await writeFile(join(root, 'repo/Release'), 'Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\nCodename: bookworm-security\n');
  await writeFile(join(root, 'etc/apt/sources.list'), `deb [trusted=yes] file:${join(root, 'repo')} ./\n`);
  return root;
}

describe('maintenance tasks against real tools', () => {
  let root: string;
  beforeAll(async () => {
    root = await aptRoot();
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('updates: real apt-get lists the upgrade from the security archive; the reboot flag is read; nothing is installed without apply', async () => {
    const calls: string[][] = [];
    const recording: CommandRunner = (cmd, args, opts) => {
      calls.push([cmd, ...args]);
      return commandRunner(cmd, args, opts);
    };
    const input = taskDefinitions['maintenance.updates'].input.parse({ refresh: true });
    const report = await maintenanceUpdates({ root, run: recording })(input, ctx());
    expect(report).toMatchObject({
      packages: [{ name: 'libkf-demo', from: '1.0-1', to: '1.0-2', origin: 'Debian-Security:stable-security', security: true }],
      security: 1,
      rebootRequired: false,
      rebootPackages: [],
    });
    expect(report).not.toHaveProperty('applied');
    expect(calls.map((c) => c.slice(5, 7))).toEqual([
      ['update', '-q'],
      ['-s', '-q'],
    ]);
    expect(taskDefinitions['maintenance.updates'].summary(taskDefinitions['maintenance.updates'].output.parse(report))).toBe('1 upgradable, 1 security');

    await mkdir(join(root, 'var/run'), { recursive: true });
    await writeFile(join(root, 'var/run/reboot-required'), '*** System restart required ***\n');
    await writeFile(join(root, 'var/run/reboot-required.pkgs'), 'linux-image-6.1.0-31-amd64\nlibc6\nlibc6\n');
    const again = await maintenanceUpdates({ root, run: commandRunner })(taskDefinitions['maintenance.updates'].input.parse({}), ctx());
    expect(again).toMatchObject({ rebootRequired: true, rebootPackages: ['linux-image-6.1.0-31-amd64', 'libc6'] });
  });

  it('updates with apply: installs exactly the security updates, non-interactively, only-upgrade', async () => {
    const installs: string[][] = [];
    // The simulation is real; the install is recorded (the local archive has no real .deb to install).
    const run: CommandRunner = (cmd, args, opts) => {
      if (cmd === 'env') {
        installs.push(args.filter((a) => !a.startsWith('Dir')));
        return Promise.resolve({ code: 0, stdout: '', stderr: '' });
      }
      return commandRunner(cmd, args, opts);
    };
    const report = await maintenanceUpdates({ root, run })(taskDefinitions['maintenance.updates'].input.parse({ apply: true }), ctx());
    expect(report.applied).toEqual(['libkf-demo']);
    expect(installs).toEqual([
      ['DEBIAN_FRONTEND=noninteractive', 'apt-get', '-o', '-o', '-y', '-q', '-o', 'Dpkg::Options::=--force-confold', 'install', '--only-upgrade', 'libkf-demo'],
    ]);
  });

  it('scan: real Lynis (read-only, two test groups) parsed into pass / fail findings with its hardening index', async () => {
    const started = Date.now();
    const input = taskDefinitions['maintenance.scan'].input.parse({
      groups: ['ssh', 'authentication'],
      skip: [{ test: 'AUTH-9308', reason: 'containers have no single-user mode' }],
    });
    const report = taskDefinitions['maintenance.scan'].output.parse(await maintenanceScan({ run: commandRunner })(input, ctx()));
    console.log(`lynis (ssh, authentication groups): ${report.durationMs} ms, ${report.testsPerformed} tests, index ${report.hardeningIndex}`);
    expect(report.profile).toBe('lynis');
    expect(report.lynisVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(report.testsPerformed).toBeGreaterThan(5);
    expect(report.findings.length).toBeGreaterThanOrEqual(report.testsPerformed);
    expect(report.findings.every((f) => /^lynis\.[a-z]+-\d+$/.test(f.rule))).toBe(true);
    expect(report.findings.some((f) => f.rule.startsWith('lynis.auth-') && f.status === 'pass')).toBe(true);
    expect(report.findings.find((f) => f.rule === 'lynis.auth-9308')).toMatchObject({ status: 'disabled', reason: 'containers have no single-user mode' });
    expect(report.durationMs).toBeLessThanOrEqual(Date.now() - started);
  }, 180_000);

  it('keycloak-version: the installed version against exact versions and x lines', async () => {
    expect(versionAllowed('26.4.7', ['26.4.7'])).toBe(true);
    expect(versionAllowed('26.4.7', ['26.4.x'])).toBe(true);
    expect(versionAllowed('26.4.7', ['26.x', '25.0.6'])).toBe(true);
    expect(versionAllowed('26.4.7', ['26.3.x', '26.4.6'])).toBe(false);
    expect(versionAllowed('26.4.7', ['26'])).toBe(true);
    const state = await mkdtemp(join(tmpdir(), 'kf-kcv-'));
    try {
      const input = { allowed: ['26.5.x'] };
      expect(await maintenanceKeycloakVersion(input, ctx(state))).toMatchObject({ version: null, status: 'not-installed' });
      await mkdir(join(state, 'keycloak'), { recursive: true });
      await writeFile(join(state, 'keycloak/instance.json'), JSON.stringify({ runtime: 'process', version: '26.4.7' }));
      const out = await maintenanceKeycloakVersion(input, ctx(state));
      expect(out).toMatchObject({ version: '26.4.7', status: 'not-allowed', allowed: ['26.5.x'] });
      expect(taskDefinitions['maintenance.keycloak-version'].summary(out)).toBe('Keycloak 26.4.7 is NOT allowed (26.5.x)');
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});
