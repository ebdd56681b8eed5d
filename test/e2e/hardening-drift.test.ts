import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentProcess,
  type AlertsRoutes,
  type BackupsRoutes,
  createEnrollmentToken,
  enrollAgent,
  expectStatus,
  type Fleet,
  repoRoot,
  startFleet,
  waitForTask,
} from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HardeningRoutes } from '../../apps/hub/src/features/hardening/index.js';
import { runCli } from './run-cli.js';

const AUTO_UPGRADES = 'etc/apt/apt.conf.d/20auto-upgrades';
const periodic = (upgrade: '0' | '1') => `APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "${upgrade}";\n`;

/**
 * Drift on a schedule with a real agent whose hardening root is a temp dir: a task schedule runs
 * hardening.audit every two seconds (a cron with seconds, so the test waits seconds, not minutes);
 * a file changed behind Keyfleet's back is recorded as drift by the next scheduled audit, and
 * the built-in hardening-drift alert fires for that rule, then resolves once the file is put back.
 */
describe('scheduled hardening audits and maintenance tasks on a real agent', () => {
  let fleet: Fleet;
  let agent: AgentProcess;
  let root: string;
  const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
  const hardening = () => fleet.api.routes<HardeningRoutes>('/v1');
  const alerts = async (state: 'firing' | 'all') =>
    (await expectStatus(fleet.api.routes<AlertsRoutes>('/v1').alerts.$get({ query: { state } }), 200)).items.filter(
      (a) => a.rule === 'hardening-drift' && a.hostId === agent.hostId,
    );
  const host = () => expectStatus(hardening().hosts[':id'].hardening.$get({ param: { id: agent.hostId }, query: {} }), 200);
  const status = async (rule: string) => (await host()).report?.findings.find((f) => f.rule === rule)?.status;

  beforeAll(async () => {
    fleet = await startFleet({ hubEnv: { KEYFLEET_BACKUP_SCHEDULE_TICK_MS: '300', KEYFLEET_ALERTS_EVAL_MS: '300' } });
    // What the updates.unattended rule reads: dpkg's status (the package installed) and APT's periodic settings, both on.
    root = await mkdtemp(join(tmpdir(), 'kf-drift-root-'));
    await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
    await mkdir(join(root, 'etc/apt/apt.conf.d'), { recursive: true });
    await writeFile(join(root, 'var/lib/dpkg/status'), 'Package: unattended-upgrades\nStatus: install ok installed\nVersion: 2.9.1+nmu3\n');
    await writeFile(join(root, AUTO_UPGRADES), periodic('1'));
    // What apt-get needs to simulate an upgrade under the root (no sources: nothing upgradable), and a pending reboot.
    for (const d of ['etc/apt/sources.list.d', 'etc/apt/preferences.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/run'])
      await mkdir(join(root, d), { recursive: true });
    await writeFile(join(root, 'etc/apt/sources.list'), '');
    await writeFile(join(root, 'var/run/reboot-required'), '*** System restart required ***\n');
    await writeFile(join(root, 'var/run/reboot-required.pkgs'), 'libc6\n');
    agent = await enrollAgent({
      hubUrl: fleet.hub.url,
      token: await createEnrollmentToken(fleet.api),
      heartbeatIntervalMs: 500,
      env: { KEYFLEET_HARDENING_ROOT: root },
    });
    fleet.agents.push(agent);
    await agent.start();
  });
  afterAll(async () => {
    await fleet?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('an audit every 2 s records the changed file as drift, the alert fires for that rule, and resolves when it passes again', async () => {
    const created = await cli(
      'schedules',
      'create',
      'drift-audit',
      '--kind',
      'task',
      '--task',
      'hardening.audit',
      '--param',
      'disabled=[{"rule":"ssh.daemon","reason":"no sshd in the temp root"}]',
      '--cron',
      '*/2 * * * * *',
      '--window-seconds',
      '0',
    );
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const shown = await cli('schedules', 'show', 'drift-audit');
    expect(shown.stdout).toMatch(/task:\s+hardening\.audit .*ssh\.daemon/);

    // A first scheduled audit is the baseline: the rule passes, nothing drifted, no alert.
    await vi.waitFor(async () => expect(await status('updates.unattended')).toBe('pass'), { timeout: 60_000, interval: 300 });
    const baseline = await host();
    expect(baseline.events).toEqual([]);
    expect(await alerts('all')).toEqual([]);

    // Someone turns the upgrades off by hand; the next scheduled audit records it, the alert fires.
    await writeFile(join(root, AUTO_UPGRADES), periodic('0'));
    const drift = await vi.waitFor(
      async () => {
        const [event] = (await host()).events;
        expect(event).toMatchObject({ cause: 'hardening.audit', changes: [{ rule: 'updates.unattended', from: 'pass', to: 'fail' }] });
        return event!;
      },
      { timeout: 30_000, interval: 300 },
    );
    const [firing] = await vi.waitFor(
      async () => {
        const open = await alerts('firing');
        expect(open).toHaveLength(1);
        return open;
      },
      { timeout: 30_000, interval: 300 },
    );
    expect(firing).toMatchObject({ labels: { rule: 'updates.unattended' }, severity: 'warning' });
    expect(firing!.summary).toContain('hardening rule updates.unattended passed before and fails since an audit');
    // The run that found it is a unit of the schedule, its task the one the drift event names.
    const schedule = await expectStatus(fleet.api.routes<BackupsRoutes>('/v1')['backup-schedules'][':id'].$get({ param: { id: 'drift-audit' } }), 200);
    expect(schedule.runs.length).toBeGreaterThan(1);
    const task = await expectStatus(fleet.api.api.v1.tasks[':id'].$get({ param: { id: drift.taskId } }), 200);
    expect(task).toMatchObject({ type: 'hardening.audit', hostId: agent.hostId, state: 'succeeded' });
    console.log(`scheduled audit task ${task.id}: ${Date.parse(task.finishedAt!) - Date.parse(task.startedAt!)} ms on the agent`);
    // Prometheus reads the same fact from the fleet endpoint.
    const metrics = await fleet.api.raw('GET', '/v1/fleet/metrics');
    expect(metrics.text).toMatch(new RegExp(`^kf_hardening_drift\\{host="${agent.hostId}",hostname="[^"]+",rule="updates.unattended"\\} 1$`, 'm'));

    // Put back: the next audit passes and the alert resolves.
    await writeFile(join(root, AUTO_UPGRADES), periodic('1'));
    await vi.waitFor(async () => expect((await alerts('all')).map((a) => a.state)).toEqual(['resolved']), { timeout: 30_000, interval: 300 });
    expect(await status('updates.unattended')).toBe('pass');
    await cli('schedules', 'pause', 'drift-audit');
  });

  it('maintenance: a scheduled updates report, a Lynis scan, a version check and log rotation are kept by the hub and shown by the CLI', async () => {
    const created = await cli(
      'schedules',
      'create',
      'updates-report',
      '--kind',
      'task',
      '--task',
      'maintenance.updates',
      '--cron',
      '*/2 * * * * *',
      '--window-seconds',
      '0',
    );
    expect(created.status).toBe(0);
    // A real, read-only Lynis scan of this machine (one test group: seconds, not minutes); waited for
    // through the API, since under load it may outlast the CLI helper's 60 s.
    const { tasks } = await expectStatus(
      fleet.api.api.v1.tasks.$post({ json: { type: 'maintenance.scan', target: { hostId: agent.hostId }, params: { groups: ['ssh'] } } }),
      201,
    );
    const scan = await waitForTask(fleet.api, tasks[0]!.id, ['succeeded', 'failed'], 300_000);
    expect(scan.error).toBeNull();
    expect(scan.summary).toMatch(/^lynis \d+\.\d+\.\d+: index \d+, \d+ tests; score \d+/);
    const version = await cli('tasks', 'run', 'maintenance.keycloak-version', '--target', agent.hostId, '--param', 'allowed=["26.4.x"]', '--wait');
    expect(version.stdout).toContain('no Keycloak installed');
    const logs = await cli('tasks', 'run', 'maintenance.logs', '--target', agent.hostId, '--wait');
    expect(logs.stdout).toMatch(/\d+ of \d+ log files rotated, \d+ MiB freed/);

    const maintenance = () => expectStatus(hardening().hosts[':id'].maintenance.$get({ param: { id: agent.hostId } }), 200);
    await vi.waitFor(async () => expect((await maintenance()).updates).not.toBeNull(), { timeout: 30_000, interval: 300 });
    await cli('schedules', 'pause', 'updates-report');
    const body = await maintenance();
    expect(body.updates!.report).toMatchObject({ packages: [], security: 0, rebootRequired: true, rebootPackages: ['libc6'] });
    expect(body.keycloakVersion!.report).toMatchObject({ version: null, status: 'not-installed', allowed: ['26.4.x'] });
    expect(body.scan!.report).toMatchObject({ profile: 'lynis', lynisVersion: expect.stringMatching(/^\d/) });

    const report = await cli('maintenance', 'report');
    expect(report.stdout).toMatch(new RegExp(`${agent.hostId}\\s+\\S+\\s+0\\s+0\\s+yes\\s+\\d+\\s+\\d+\\s+not-installed`));
    const shown = await cli('maintenance', 'show', agent.hostId);
    expect(shown.stdout).toContain('updates:  0 upgradable, 0 security, REBOOT REQUIRED (libc6)');
    expect(shown.stdout).toContain('keycloak: not installed by the agent (allowed: 26.4.x)');
    expect(shown.stdout).toMatch(/logs: {5}0 of \d+ rotated, 0 MiB freed/);
    expect(shown.stdout).toMatch(/scan: {5}lynis \d+\.\d+\.\d+, index \d+, score \d+, \d+ tests in \d+ s/);
  }, 400_000);
});
