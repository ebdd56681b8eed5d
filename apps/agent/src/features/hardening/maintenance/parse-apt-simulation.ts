import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';

export type UpgradablePackage = z.output<(typeof taskDefinitions)['maintenance.updates']['output']>['packages'][number];

// `Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])`;
// a package newly pulled in has no bracketed installed version.
const INST = /^Inst (\S+)(?: \[([^\]]+)\])? \((\S+) ([^[]+?)(?: \[[^\]]+\])?\)/;

/** Whether an APT origin (`Debian-Security:12/stable-security`, `Ubuntu:22.04/jammy-security`) is a security archive. */
export const isSecurityOrigin = (origin: string) => /security/i.test(origin);

/**
 * The packages `apt-get -s upgrade` (or dist-upgrade) would install, read from its `Inst` lines,
 * each marked security when any of its archives is a security archive. `Conf` and `Remv` lines
 * say nothing more about what is upgraded.
 */
export function parseAptSimulation(stdout: string): UpgradablePackage[] {
  const out: UpgradablePackage[] = [];
  for (const line of stdout.split('\n')) {
    const m = INST.exec(line);
    if (!m) continue;
    const origin = m[4]!.trim();
    out.push({ name: m[1]!, ...(m[2] ? { from: m[2] } : {}), to: m[3]!, origin, security: origin.split(', ').some(isSecurityOrigin) });
  }
  return out;
}
