import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { keycloakStateDir } from '../../keycloak/index.js';
import type { TaskHandler } from '../../../task-handler.js';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** The `*.log` files directly in `dir` (none when it does not exist). */
async function logsIn(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.log')).map((n) => join(dir, n));
}

/**
 * Copy-and-truncate rotation, as logrotate's copytruncate: the writers (the agent under
 * `supervise`, Keycloak's supervisor, the front) hold their files open in append mode and keep
 * writing at the new end, and the log shipper reads a shorter file from its start. Copies are
 * gzip'd and shifted (name.1.gz newest), the oldest beyond `keep` removed. Lines written between
 * the copy and the truncation are lost, as with copytruncate.
 */
export const maintenanceLogs: TaskHandler<'maintenance.logs'> = async (input, ctx) => {
  const files = [...(await logsIn(ctx.stateDir)), ...(await logsIn(keycloakStateDir(ctx.stateDir)))];
  const out = [];
  let freedBytes = 0;
  for (const path of files) {
    const { size } = await stat(path);
    const rotated = size > input.maxBytes;
    if (rotated) {
      ctx.progress(undefined, `rotating ${path}`);
      await rm(`${path}.${input.keep}.gz`, { force: true });
      for (let n = input.keep - 1; n >= 1; n--) if (await exists(`${path}.${n}.gz`)) await rename(`${path}.${n}.gz`, `${path}.${n + 1}.gz`);
      await pipeline(createReadStream(path, { end: size - 1 }), createGzip(), createWriteStream(`${path}.1.gz`, { mode: 0o600 }), { signal: ctx.signal });
      await truncate(path, 0);
      freedBytes += Math.max(0, size - (await stat(`${path}.1.gz`)).size);
    }
    let copies = 0;
    for (let n = 1; n <= input.keep; n++) if (await exists(`${path}.${n}.gz`)) copies++;
    out.push({ path, bytes: size, rotated, copies });
  }
  return { checkedAt: new Date().toISOString(), files: out, freedBytes };
};
