import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface SmallTmpfs {
  dir: string;
  close(): Promise<void>;
}

/**
 * A real file system of `sizeBytes` mounted on a fresh directory, so a test can fill it and see
 * the kernel's own ENOSPC (no write error is faked). Mounting needs root; CI runs as root.
 */
export async function smallTmpfs(sizeBytes: number, at?: string): Promise<SmallTmpfs> {
  if (process.getuid?.() !== 0) {
    throw new Error('smallTmpfs mounts a tmpfs and needs root (CI runs as root): run this test as root');
  }
  const dir = at ?? (await mkdtemp(join(tmpdir(), 'kf-tmpfs-')));
  await exec('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir]).catch((err: Error & { stderr?: string }) => {
    throw new Error(`mount -t tmpfs on ${dir} failed: ${err.stderr?.trim() || err.message}`);
  });
  return {
    dir,
    async close() {
      await exec('umount', [dir]);
      if (!at) await rm(dir, { recursive: true, force: true });
    },
  };
}
