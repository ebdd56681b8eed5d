import { chmod, chown, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineRule, type HardeningRule, type RuleEnv } from '../hardening-rule.js';

/** A host path and the mode it should have; its owner is the profile's file owner. */
export interface WantedFile {
  path: string;
  mode: number;
}

interface Seen {
  path: string;
  mode: number;
  uid: number;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');
const describe = (mode: number, uid: number) => `${octal(mode)} uid ${uid}`;

async function seen(env: RuleEnv, files: WantedFile[]): Promise<Array<Seen & { wanted: number }>> {
  const out: Array<Seen & { wanted: number }> = [];
  for (const f of files) {
    const st = await stat(join(env.root, f.path)).catch(() => undefined);
    if (st) out.push({ path: f.path, mode: st.mode & 0o7777, uid: st.uid, wanted: f.mode });
  }
  return out;
}

/**
 * A rule that keeps some files owned by the profile's owner with at most the given mode (a file
 * already stricter passes). Paths that do not exist are left out; none existing = not applicable.
 */
export function fileModesRule(def: {
  id: string;
  title: string;
  why: string;
  runtimes?: ReadonlyArray<'docker' | 'process'>;
  files: (env: RuleEnv) => WantedFile[] | Promise<WantedFile[]>;
}): HardeningRule {
  return defineRule<Seen[]>({
    id: def.id,
    title: def.title,
    why: def.why,
    ...(def.runtimes ? { runtimes: def.runtimes } : {}),
    async check(env) {
      const files = await seen(env, await def.files(env));
      const owner = env.params.fileOwner;
      if (files.length === 0) return { status: 'not-applicable', current: 'no such files', wanted: '-', reason: 'none of its files exist here', changes: [] };
      // Wider than wanted = any permission bit the wanted mode does not grant.
      const wrong = files.filter((f) => (f.mode & ~f.wanted) !== 0 || f.uid !== owner.uid);
      return {
        status: wrong.length ? 'fail' : 'pass',
        current: wrong.length ? wrong.map((f) => `${f.path} ${describe(f.mode, f.uid)}`).join(', ') : `${files.length} files as wanted`,
        wanted: `${files.map((f) => `${f.path} ≤${octal(f.wanted)}`).join(', ')} owned by ${owner.name}`,
        changes: wrong.map((f) => ({
          target: f.path,
          before: describe(f.mode, f.uid),
          after: describe(f.mode & f.wanted, owner.uid),
        })),
      };
    },
    async apply(env) {
      const files = await seen(env, await def.files(env));
      const owner = env.params.fileOwner;
      const before: Seen[] = [];
      for (const f of files) {
        if ((f.mode & ~f.wanted) === 0 && f.uid === owner.uid) continue;
        before.push({ path: f.path, mode: f.mode, uid: f.uid });
        const path = join(env.root, f.path);
        // -1 keeps the group: the rule is about who owns the file and who else may read it.
        if (f.uid !== owner.uid) await chown(path, owner.uid, -1);
        await chmod(path, f.mode & f.wanted);
      }
      return before;
    },
    async rollback(env, before) {
      for (const f of before) {
        const path = join(env.root, f.path);
        await chown(path, f.uid, -1);
        await chmod(path, f.mode);
      }
    },
  });
}
