import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../../write-file-atomic.js';
import { defineRule, type RuleEnv } from '../hardening-rule.js';
import { passwdUsers } from '../passwd-users.js';
import { RuleRefused } from '../rule-refused.js';

const MAIN = 'etc/ssh/sshd_config';
/** First in sshd_config.d: sshd keeps the first value it reads, so a later drop-in (cloud-init's) cannot undo these. */
const DROP_IN = 'etc/ssh/sshd_config.d/01-keyfleet-hardening.conf';

const MODERN_CIPHERS = ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'aes192-ctr', 'aes128-ctr'];
const MODERN_MACS = ['hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'umac-128-etm@openssh.com'];

const WANTED: Record<string, { text: string; ok: (v: string) => boolean; line: string }> = {
  permitrootlogin: { text: 'no', ok: (v) => v === 'no', line: 'PermitRootLogin no' },
  passwordauthentication: { text: 'no', ok: (v) => v === 'no', line: 'PasswordAuthentication no' },
  kbdinteractiveauthentication: { text: 'no', ok: (v) => v === 'no', line: 'KbdInteractiveAuthentication no' },
  ciphers: { text: 'modern AEAD/CTR only', ok: (v) => v.split(',').every((c) => MODERN_CIPHERS.includes(c)), line: `Ciphers ${MODERN_CIPHERS.join(',')}` },
  macs: { text: 'encrypt-then-MAC SHA-2 only', ok: (v) => v.split(',').every((m) => MODERN_MACS.includes(m)), line: `MACs ${MODERN_MACS.join(',')}` },
};

const DROP_IN_TEXT = `# Written by keyfleet-agent (hardening rule ssh.daemon); hardening.rollback removes it.\n${Object.values(WANTED)
  .map((w) => w.line)
  .join('\n')}\n`;

/** `sshd -T`: the effective settings (lower-case keys), or the reason sshd refused the config. */
async function effective(env: RuleEnv, config: string): Promise<{ ok: true; values: Map<string, string> } | { ok: false; error: string }> {
  const r = await env.run(env.sshd, ['-T', '-f', config]);
  if (r.code !== 0) return { ok: false, error: r.stderr.trim() || `sshd -T exited ${r.code}` };
  const values = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0 && !values.has(line.slice(0, i))) values.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return { ok: true, values };
}

/**
 * The lock-out guard: turning root and password logins off is safe only if a declared user other
 * than root has an authorized key; returns why not, or undefined.
 */
async function lockOut(env: RuleEnv, values: Map<string, string>): Promise<string | undefined> {
  const declared = env.params.ssh.access.filter((u) => u !== 'root');
  if (declared.length === 0)
    return 'no key-based access besides root is declared (params.ssh.access), so turning root and password logins off could lock everyone out';
  const users = await passwdUsers(env.root);
  const files = (values.get('authorizedkeysfile') ?? '.ssh/authorized_keys').split(/\s+/);
  for (const name of declared) {
    const user = users.find((u) => u.name === name);
    if (!user) continue;
    for (const f of files) {
      const path = f.replaceAll('%h', user.home).replaceAll('%u', user.name).replaceAll('%%', '%');
      const text = await readFile(join(env.root, path.startsWith('/') ? path : join(user.home, path)), 'utf8').catch(() => '');
      if (text.split('\n').some((l) => l.trim() && !l.trim().startsWith('#'))) return undefined;
    }
  }
  return `none of the declared users (${declared.join(', ')}) has an authorized key, so turning root and password logins off would lock everyone out`;
}

/** SSH: no root login, no passwords, modern ciphers and MACs; validated with sshd before anything is written. */
export const sshDaemonRule = defineRule<{ file: string | null }>({
  id: 'ssh.daemon',
  title: 'SSH: no root login, no passwords, modern ciphers',
  why: 'Password and root logins are what brute-force bots try; old ciphers and MACs are breakable.',
  async check(env) {
    const main = join(env.root, MAIN);
    if (!(await readFile(main, 'utf8').catch(() => null))) return { status: 'not-applicable', current: '-', wanted: '-', reason: `no ${MAIN}`, changes: [] };
    const seen = await effective(env, main);
    if (!seen.ok) throw new Error(`sshd rejects the current config: ${seen.error}`);
    const wrong = Object.entries(WANTED).filter(([k, w]) => !w.ok(seen.values.get(k) ?? ''));
    const guard = wrong.length ? await lockOut(env, seen.values) : undefined;
    return {
      status: wrong.length ? 'fail' : 'pass',
      current: Object.keys(WANTED)
        .map((k) => `${k} ${seen.values.get(k) ?? '?'}`)
        .join('; '),
      wanted: Object.entries(WANTED)
        .map(([k, w]) => `${k} ${w.text}`)
        .join('; '),
      ...(guard ? { reason: `apply would be refused: ${guard}` } : {}),
      changes: wrong.length
        ? [{ target: `/${DROP_IN}`, before: (await readFile(join(env.root, DROP_IN), 'utf8').catch(() => null)) ?? '(absent)', after: DROP_IN_TEXT }]
        : [],
    };
  },
  async apply(env) {
    const main = join(env.root, MAIN);
    const dropIn = join(env.root, DROP_IN);
    const seen = await effective(env, main);
    if (!seen.ok) throw new Error(`sshd rejects the current config: ${seen.error}`);
    const guard = await lockOut(env, seen.values);
    if (guard) throw new RuleRefused(`refused: ${guard}`);
    // Validate the candidate before it exists where sshd reads it: a config sshd rejects is never written.
    const candidate = join(dirname(main), '.keyfleet-candidate.conf');
    const candidateMain = join(dirname(main), '.keyfleet-candidate-main.conf');
    await writeFileAtomic(candidate, DROP_IN_TEXT, 0o600);
    await writeFileAtomic(candidateMain, `Include ${candidate}\nInclude ${main}\n`, 0o600);
    try {
      const r = await env.run(env.sshd, ['-t', '-f', candidateMain]);
      if (r.code !== 0) throw new RuleRefused(`refused: sshd -t rejects the new settings: ${r.stderr.trim()}`);
    } finally {
      await rm(candidate, { force: true });
      await rm(candidateMain, { force: true });
    }
    const file = await readFile(dropIn, 'utf8').catch(() => null);
    await mkdir(dirname(dropIn), { recursive: true });
    await writeFileAtomic(dropIn, DROP_IN_TEXT, 0o644);
    const after = await effective(env, main);
    if (!after.ok || Object.entries(WANTED).some(([k, w]) => !w.ok(after.values.get(k) ?? ''))) {
      await restore(env, file);
      throw new RuleRefused(`refused: ${after.ok ? `${MAIN} does not include sshd_config.d first, so the settings would not take effect` : after.error}`);
    }
    await reload(env);
    return { file };
  },
  async rollback(env, before) {
    await restore(env, before.file);
    await reload(env);
  },
});

async function restore(env: RuleEnv, file: string | null): Promise<void> {
  const dropIn = join(env.root, DROP_IN);
  if (file === null) await rm(dropIn, { force: true });
  else await writeFileAtomic(dropIn, file, 0o644);
}

/** Reloads a running sshd (Debian names the unit ssh, others sshd); existing sessions stay. */
async function reload(env: RuleEnv): Promise<void> {
  for (const unit of ['ssh.service', 'sshd.service']) {
    if ((await env.run('systemctl', ['try-reload-or-restart', unit])).code === 0) return;
  }
  env.log.warn('could not reload sshd through systemd; the new settings apply when it next starts');
}
