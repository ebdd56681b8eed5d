import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every path under `root` with its mode, owner and content hash: equal digests = byte-identical trees. */
export async function treeDigest(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      const st = await lstat(path);
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (e.isDirectory()) {
        out[relative(root, path)] = `dir ${meta}`;
        await walk(path);
      } else {
        out[relative(root, path)] = `${meta} ${createHash('sha256')
          .update(await readFile(path))
          .digest('hex')}`;
      }
    }
  };
  await walk(root);
  return out;
}
