import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = dirname(fileURLToPath(import.meta.url));

/**
 * The rooms of the Keycloak feature from the bottom up: a file may import its own room and the
 * rooms below it, never one above (runtime does not reach into tasks, verify not into runtime).
 */
const KEYCLOAK_ROOMS = ['keycloak-types.ts', 'instance', 'verify', 'realm', 'front', 'runtime', 'tasks', 'keycloak-feature.ts', 'index.ts'];

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(path)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Every relative import of the production files, as paths below src/. */
async function imports(): Promise<Array<{ from: string; to: string }>> {
  const edges: Array<{ from: string; to: string }> = [];
  for (const file of await sources(src)) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      edges.push({ from: relative(src, file), to: relative(src, resolve(dirname(file), `${m[1]}.ts`)) });
    }
  }
  return edges;
}

const roomOf = (path: string) => {
  const rest = path.slice('features/keycloak/'.length);
  return KEYCLOAK_ROOMS.indexOf(rest.includes('/') ? rest.split('/')[0]! : rest);
};

describe('import layers of the agent', () => {
  it('sees the imports it checks', async () => {
    const edges = await imports();
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: 'features/keycloak/runtime/process/process-runtime.ts', to: 'task-failure.ts' });
  });

  it('has a core that imports no feature (only main.ts, the composition root, does)', async () => {
    const upward = (await imports()).filter((e) => !e.from.startsWith('features/') && e.from !== 'main.ts' && e.to.startsWith('features/'));
    expect(upward).toEqual([]);
  });

  it('has features that use another feature only through its public index.ts, and never in a cycle', async () => {
    const feature = (p: string) => p.split('/')[1];
    const across = (await imports()).filter(
      (e) => e.from.startsWith('features/') && e.to.startsWith('features/') && feature(e.from) !== feature(e.to) && e.from !== 'features/index.ts',
    );
    expect(across.filter((e) => e.to !== `features/${feature(e.to)}/index.ts`)).toEqual([]);
    const uses = new Set(across.map((e) => `${feature(e.from)}→${feature(e.to)}`));
    expect([...uses].filter((u) => uses.has(u.split('→').reverse().join('→')))).toEqual([]);
  });

  it('has Keycloak rooms that import only down', async () => {
    const inKeycloak = (await imports()).filter((e) => e.from.startsWith('features/keycloak/') && e.to.startsWith('features/keycloak/'));
    for (const e of inKeycloak) {
      expect(roomOf(e.from), `${e.from} is in no known room`).toBeGreaterThanOrEqual(0);
      expect(roomOf(e.to), `${e.to} is in no known room`).toBeGreaterThanOrEqual(0);
    }
    const up = inKeycloak.filter((e) => roomOf(e.to) > roomOf(e.from));
    expect(up).toEqual([]);
    // docker and process are siblings: neither builds on the other.
    const sideways = inKeycloak.filter(
      (e) => /runtime\/(docker|process)\//.test(e.from) && /runtime\/(docker|process)\//.test(e.to) && e.from.split('/')[3] !== e.to.split('/')[3],
    );
    expect(sideways).toEqual([]);
  });
});
