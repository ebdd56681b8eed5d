import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../command-runner.js';
import type { RuleEnv } from '../hardening-rule.js';
import { debianRoot } from '../testing/debian-root.js';
import { testRuleEnv } from '../testing/rule-env.js';
import { findSshd, sshdInRoot } from '../testing/sshd-in-root.js';
import { sshDaemonRule } from './ssh-daemon-rule.js';

describe('ssh.daemon rule', () => {
  let root: string;
  let sshd: string;
  beforeAll(async () => {
    root = await debianRoot();
    sshd = findSshd();
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const env = (run: CommandRunner): RuleEnv => testRuleEnv(root, { run, sshd });

  it('never writes a config that sshd -t rejects', async () => {
    const real = sshdInRoot(root, sshd);
    const calls: string[][] = [];
    // The one unit edge case faked: an sshd that rejects the candidate (as an older sshd would reject a cipher it lacks).
    const run: CommandRunner = (cmd, args, opts) => {
      calls.push([cmd, ...args]);
      if (cmd === sshd && args[0] === '-t') return Promise.resolve({ code: 255, stdout: '', stderr: 'Bad SSH2 cipher spec' });
      return real(cmd, args, opts);
    };
    const check = await sshDaemonRule.check(env(run));
    expect(check.status).toBe('fail');
    await expect(sshDaemonRule.apply(env(run), check)).rejects.toThrow('refused: sshd -t rejects the new settings: Bad SSH2 cipher spec');
    expect(await readdir(join(root, 'etc/ssh/sshd_config.d'))).toEqual([]);
    expect((await readdir(join(root, 'etc/ssh'))).filter((n) => n.startsWith('.keyfleet'))).toEqual([]);
    expect(calls.some(([cmd]) => cmd === 'systemctl')).toBe(false);
  });

  it('refuses with a clear message when no declared user other than root has a key', async () => {
    const e = env(sshdInRoot(root, sshd));
    e.params.ssh.access = ['root', 'nobody-here'];
    const check = await sshDaemonRule.check(e);
    expect(check.reason).toBe(
      'apply would be refused: none of the declared users (nobody-here) has an authorized key, so turning root and password logins off would lock everyone out',
    );
    await expect(sshDaemonRule.apply(e, check)).rejects.toThrow(/^refused: none of the declared users/);
    expect(await readdir(join(root, 'etc/ssh/sshd_config.d'))).toEqual([]);
  });
});
