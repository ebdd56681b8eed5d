import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskHandler } from '../../../task-handler.js';
import { mustRun } from '../command-runner.js';
import type { HardeningHost } from '../hardening-host.js';
import { parseAptSimulation } from './parse-apt-simulation.js';

/** Whether the host waits for a reboot, and for which packages (Debian's update-notifier-common / needrestart write these). */
async function rebootNeeded(root: string): Promise<{ rebootRequired: boolean; rebootPackages: string[] }> {
  const flag = await readFile(join(root, 'var/run/reboot-required'), 'utf8').then(
    () => true,
    () => false,
  );
  const pkgs = await readFile(join(root, 'var/run/reboot-required.pkgs'), 'utf8').catch(() => '');
  return {
    rebootRequired: flag,
    rebootPackages: [
      ...new Set(
        pkgs
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      ),
    ],
  };
}

/**
 * OS updates: always a dry run first (`apt-get -s upgrade`, which changes nothing and needs no
 * lock), then, only when asked, the security updates of that list and nothing else
 * (`apt-get install --only-upgrade`, so no package is newly installed or removed). Other updates
 * are reported for the operator to schedule.
 */
export function maintenanceUpdates(host: Pick<HardeningHost, 'root' | 'run'>): TaskHandler<'maintenance.updates'> {
  // Under another root (tests, chroots) APT reads that root's config, lists and dpkg status, not the host's.
  const rootArgs = host.root === '/' ? [] : ['-o', `Dir=${host.root}`, '-o', `Dir::State::status=${join(host.root, 'var/lib/dpkg/status')}`];
  const apt = (args: string[]) => mustRun(host.run, 'apt-get', [...rootArgs, ...args]);
  return async (input, ctx) => {
    if (input.refresh) {
      ctx.progress(10, 'apt-get update');
      await apt(['update', '-q']);
    }
    ctx.progress(30, 'apt-get -s upgrade');
    const packages = parseAptSimulation(await apt(['-s', '-q', 'upgrade']));
    const security = packages.filter((p) => p.security).map((p) => p.name);
    let applied: string[] | undefined;
    if (input.apply) {
      applied = security;
      if (security.length > 0) {
        ctx.progress(50, `upgrading ${security.length} security update(s)`);
        // Non-interactive, keeping changed config files: an unattended upgrade never stops at a prompt.
        await mustRun(host.run, 'env', [
          'DEBIAN_FRONTEND=noninteractive',
          'apt-get',
          ...rootArgs,
          '-y',
          '-q',
          '-o',
          'Dpkg::Options::=--force-confold',
          'install',
          '--only-upgrade',
          ...security,
        ]);
      }
    }
    return {
      checkedAt: new Date().toISOString(),
      packages,
      security: security.length,
      ...(await rebootNeeded(host.root)),
      ...(applied ? { applied } : {}),
    };
  };
}
