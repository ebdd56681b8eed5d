import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../../write-file-atomic.js';
import { mustRun } from '../command-runner.js';
import { defineRule, type HardeningRule, type RuleEnv } from '../hardening-rule.js';

/** A kernel setting and the value wanted; `atLeast` accepts any larger number (ptrace scope 2 or 3 beats 1). */
export interface WantedSysctl {
  key: string;
  value: string;
  atLeast?: boolean;
}

interface Before {
  /** The drop-in's previous content; null when it did not exist. */
  file: string | null;
  values: Record<string, string>;
}

const ok = (w: WantedSysctl, current: string) => (w.atLeast ? Number(current) >= Number(w.value) : current === w.value);

/** Current values of the keys this kernel has (a key it lacks, e.g. Yama without its LSM, is left out). */
async function current(env: RuleEnv, wanted: WantedSysctl[]): Promise<Array<WantedSysctl & { current: string }>> {
  const out: Array<WantedSysctl & { current: string }> = [];
  for (const w of wanted) {
    const r = await env.run('sysctl', ['-n', w.key]);
    if (r.code === 0) out.push({ ...w, current: r.stdout.trim().replace(/\s+/g, ' ') });
  }
  return out;
}

/**
 * A rule over kernel settings: written to its own file in /etc/sysctl.d (so they survive a reboot)
 * and loaded with `sysctl -p <file>`. Rollback puts the file and the live values back.
 */
export function sysctlRule(def: { id: string; title: string; why: string; file: string; settings: (env: RuleEnv) => WantedSysctl[] }): HardeningRule {
  return defineRule<Before>({
    id: def.id,
    title: def.title,
    why: def.why,
    async check(env) {
      const seen = await current(env, def.settings(env));
      if (seen.length === 0) return { status: 'not-applicable', current: '-', wanted: '-', reason: 'this kernel has none of its settings', changes: [] };
      const wrong = seen.filter((s) => !ok(s, s.current));
      return {
        status: wrong.length ? 'fail' : 'pass',
        current: seen.map((s) => `${s.key}=${s.current}`).join(', '),
        wanted: seen.map((s) => `${s.key}${s.atLeast ? '>=' : '='}${s.value}`).join(', '),
        changes: wrong.map((s) => ({ target: s.key, before: s.current, after: s.value })),
      };
    },
    async apply(env) {
      const seen = await current(env, def.settings(env));
      const path = join(env.root, def.file);
      const file = await readFile(path, 'utf8').catch(() => null);
      const lines = seen.map((s) => `${s.key} = ${ok(s, s.current) && s.atLeast ? s.current : s.value}`);
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, `# Written by keyfleet-agent (hardening rule ${def.id}); hardening.rollback removes it.\n${lines.join('\n')}\n`, 0o644);
      await mustRun(env.run, 'sysctl', ['-q', '-p', path]);
      return { file, values: Object.fromEntries(seen.map((s) => [s.key, s.current])) };
    },
    async rollback(env, before) {
      const path = join(env.root, def.file);
      if (before.file === null) await rm(path, { force: true });
      else await writeFileAtomic(path, before.file, 0o644);
      for (const [key, value] of Object.entries(before.values)) await mustRun(env.run, 'sysctl', ['-q', '-w', `${key}=${value}`]);
    },
  });
}
