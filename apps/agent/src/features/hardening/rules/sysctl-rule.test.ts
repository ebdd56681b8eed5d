import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../command-runner.js';
import type { RuleEnv } from '../hardening-rule.js';
import { sysctlRule } from './sysctl-rule.js';

/**
 * Kernel-wide settings (ptrace scope, core dumps) cannot be changed by a test on this machine, so
 * this one fakes `sysctl` with a table; the namespaced net.* settings run for real in
 * hardening-handlers.test.ts.
 */
function fakeSysctl(values: Record<string, string>): CommandRunner {
  return async (_cmd, args) => {
    if (args[0] === '-n')
      return args[1]! in values ? { code: 0, stdout: `${values[args[1]!]}\n`, stderr: '' } : { code: 255, stdout: '', stderr: 'unknown key' };
    if (args[1] === '-w') {
      const [k, v] = args[2]!.split('=');
      values[k!] = v!;
    }
    if (args[1] === '-p') {
      for (const line of (await readFile(args[2]!, 'utf8')).split('\n').filter((l) => l.includes(' = '))) {
        const [k, v] = line.split(' = ');
        values[k!] = v!;
      }
    }
    return { code: 0, stdout: '', stderr: '' };
  };
}

const rule = sysctlRule({
  id: 'sysctl.ptrace',
  title: 'ptrace',
  why: 'why',
  file: 'etc/sysctl.d/60-test.conf',
  settings: () => [
    { key: 'kernel.yama.ptrace_scope', value: '1', atLeast: true },
    { key: 'kernel.absent', value: '1' },
  ],
});

const env = async (run: CommandRunner) =>
  ({ root: await mkdtemp(join(tmpdir(), 'kf-sysctl-')), run, log: createLogger('test', { level: 'silent' }) }) as unknown as RuleEnv;

describe('sysctl rules', () => {
  it('accepts a stricter value than wanted, and keeps it when applying', async () => {
    const values = { 'kernel.yama.ptrace_scope': '2' };
    const e = await env(fakeSysctl(values));
    expect(await rule.check(e)).toMatchObject({ status: 'pass', current: 'kernel.yama.ptrace_scope=2', wanted: 'kernel.yama.ptrace_scope>=1' });
    await rm(e.root, { recursive: true });
  });

  it('writes a drop-in, loads it, and rollback removes it and restores the live value', async () => {
    const values = { 'kernel.yama.ptrace_scope': '0' };
    const e = await env(fakeSysctl(values));
    const check = await rule.check(e);
    expect(check).toMatchObject({ status: 'fail', changes: [{ target: 'kernel.yama.ptrace_scope', before: '0', after: '1' }] });
    const before = await rule.apply(e, check);
    expect(await readFile(join(e.root, 'etc/sysctl.d/60-test.conf'), 'utf8')).toContain('kernel.yama.ptrace_scope = 1\n');
    expect(values['kernel.yama.ptrace_scope']).toBe('1');
    await rule.rollback(e, before);
    expect(values['kernel.yama.ptrace_scope']).toBe('0');
    await expect(readFile(join(e.root, 'etc/sysctl.d/60-test.conf'))).rejects.toThrow(/ENOENT/);
    await rm(e.root, { recursive: true });
  });
});
