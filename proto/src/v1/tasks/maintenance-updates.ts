import { z } from 'zod';
import { defineTask } from '../define-task.js';

/** One package `apt-get -s upgrade` would upgrade. */
export const upgradablePackage = z.object({
  name: z.string(),
  /** Installed version (what `Inst` shows in brackets); absent for a new install pulled in. */
  from: z.string().optional(),
  to: z.string(),
  /** The archives it comes from, e.g. `Debian-Security:12/stable-security`. */
  origin: z.string(),
  security: z.boolean(),
});

export const maintenanceUpdates = defineTask({
  name: 'maintenance.updates',
  description:
    'Reports the OS updates APT would install (a dry run: apt-get -s upgrade), which of them are security updates, and whether the host waits for a reboot; installs the security updates only when apply is set.',
  input: z
    .object({
      /** Install the security updates (apt-get install --only-upgrade of those packages). Off: a report only, nothing changes. */
      apply: z.boolean().default(false),
      /** Refresh the package lists first (apt-get update). Off in tests and on hosts whose lists a timer refreshes. */
      refresh: z.boolean().default(false),
    })
    .strict(),
  output: z.object({
    checkedAt: z.iso.datetime(),
    packages: z.array(upgradablePackage),
    /** How many of `packages` are security updates. */
    security: z.number().int().nonnegative(),
    /** /var/run/reboot-required exists: an installed update (a kernel, libc) takes effect only after a reboot. */
    rebootRequired: z.boolean(),
    /** What /var/run/reboot-required.pkgs names. */
    rebootPackages: z.array(z.string()),
    /** Set when apply ran: the packages it upgraded. */
    applied: z.array(z.string()).optional(),
  }),
  defaultTimeoutMs: 30 * 60_000,
  summary: (o) =>
    `${o.packages.length} upgradable, ${o.security} security${o.rebootRequired ? ', reboot required' : ''}${o.applied ? `; upgraded ${o.applied.length}` : ''}`,
});
