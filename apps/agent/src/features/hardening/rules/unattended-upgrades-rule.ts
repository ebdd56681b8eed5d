import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../../write-file-atomic.js';
import { defineRule, type RuleEnv } from '../hardening-rule.js';
import { RuleRefused } from '../rule-refused.js';

const FILE = 'etc/apt/apt.conf.d/20auto-upgrades';
const PACKAGE = 'unattended-upgrades';
// The two settings Debian's own `dpkg-reconfigure unattended-upgrades` writes to this file.
const WANTED = { 'APT::Periodic::Update-Package-Lists': '1', 'APT::Periodic::Unattended-Upgrade': '1' } as const;
const KEYS = Object.keys(WANTED) as Array<keyof typeof WANTED>;

interface Before {
  /** The file's previous content; null when it did not exist. */
  file: string | null;
}

/** Whether dpkg's status database under the root has the package installed (dpkg-query would read the host's, not the root's). */
async function packageInstalled(root: string, name: string): Promise<boolean> {
  const status = await readFile(join(root, 'var/lib/dpkg/status'), 'utf8').catch(() => '');
  return status.split(/\n\n+/).some((stanza) => {
    const lines = stanza.split('\n');
    return lines.includes(`Package: ${name}`) && lines.some((l) => /^Status: \S+ ok installed$/.test(l));
  });
}

const settingPattern = (key: string) => new RegExp(`^\\s*${key.replaceAll(':', '\\:')}\\s+"([^"]*)"\\s*;`, 'm');

/** Each wanted key's value in the file, or `unset`. */
function settings(text: string): Record<string, string> {
  return Object.fromEntries(KEYS.map((k) => [k, settingPattern(k).exec(text)?.[1] ?? 'unset']));
}

async function readConf(env: RuleEnv): Promise<string | null> {
  return readFile(join(env.root, FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}

/**
 * APT's daily timers fetch package lists and install security updates by themselves once these
 * two settings are on and the unattended-upgrades package is there. The rule never installs a
 * package: that is the operator's (or the maintenance task's) call, so without it apply refuses.
 */
export const unattendedUpgradesRule = defineRule<Before>({
  id: 'updates.unattended',
  title: 'Unattended security upgrades on',
  why: 'A published hole stays open until someone remembers to run apt; the timers close it within a day.',
  async check(env) {
    const text = (await readConf(env)) ?? '';
    const seen = settings(text);
    const wrong = KEYS.filter((k) => seen[k] !== WANTED[k]);
    const installed = await packageInstalled(env.root, PACKAGE);
    return {
      status: wrong.length || !installed ? 'fail' : 'pass',
      current: [`${PACKAGE} ${installed ? 'installed' : 'not installed'}`, ...KEYS.map((k) => `${k} ${seen[k]}`)].join(', '),
      wanted: [`${PACKAGE} installed`, ...KEYS.map((k) => `${k} "${WANTED[k]}"`)].join(', '),
      ...(installed ? {} : { reason: `install the ${PACKAGE} package (apt-get install ${PACKAGE}); the agent does not install packages` }),
      changes: wrong.map((k) => ({ target: `/${FILE} ${k}`, before: seen[k]!, after: `"${WANTED[k]}"` })),
    };
  },
  async apply(env) {
    if (!(await packageInstalled(env.root, PACKAGE)))
      throw new RuleRefused(`refused: install the ${PACKAGE} package first (apt-get install ${PACKAGE}); the agent does not install packages`);
    const file = await readConf(env);
    // Other settings in the file (an operator's Download-Upgradeable-Packages, AutocleanInterval) stay as they are.
    const kept = (file ?? '').split('\n').filter((l) => l.trim() !== '' && !KEYS.some((k) => settingPattern(k).test(l)));
    const path = join(env.root, FILE);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, `${[...kept, ...KEYS.map((k) => `${k} "${WANTED[k]}";`)].join('\n')}\n`, 0o644);
    return { file };
  },
  async rollback(env, before) {
    const path = join(env.root, FILE);
    if (before.file === null) await rm(path, { force: true });
    else await writeFileAtomic(path, before.file, 0o644);
  },
});
