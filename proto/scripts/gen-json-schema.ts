import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemas } from '../src/v1/json-schemas.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema', 'v1');
await rm(root, { recursive: true, force: true });
for (const [path, schema] of jsonSchemas()) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`wrote ${jsonSchemas().size} schemas to ${root}`);
