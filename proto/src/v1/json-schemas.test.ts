import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from './json-schemas.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema', 'v1');

async function listJson(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => relative(root, join(e.parentPath, e.name)));
}

describe('checked-in JSON Schema', () => {
  it('matches the zod declarations (run `pnpm gen` after changing proto)', async () => {
    const generated = jsonSchemas();
    expect((await listJson(root)).sort()).toEqual([...generated.keys()].sort());
    for (const [path, schema] of generated) {
      expect(JSON.parse(await readFile(join(root, path), 'utf8')), path).toEqual(schema);
    }
  });
});
