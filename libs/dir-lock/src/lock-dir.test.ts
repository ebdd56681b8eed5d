import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockDir, type DirLock } from './lock-dir.js';

describe('lockDir', () => {
  let dir: string;
  const held: DirLock[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-lock-'));
  });
  afterEach(async () => {
    for (const l of held.splice(0)) await l.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second holder of the same directory, also through a symlink, and names the holder', async () => {
    held.push(await lockDir(dir, 'keyfleet-test'));
    const link = `${dir}-link`;
    await symlink(dir, link);
    try {
      await expect(lockDir(link, 'other')).rejects.toThrow(`${dir} is in use by keyfleet-test (pid ${process.pid}); stop it first`);
    } finally {
      await rm(link);
    }
  });

  it('is free again after release, and other directories are independent', async () => {
    const first = await lockDir(dir, 'keyfleet-test');
    const other = await mkdtemp(join(tmpdir(), 'kf-lock-'));
    held.push(await lockDir(other, 'keyfleet-test'));
    await first.release();
    held.push(await lockDir(dir, 'keyfleet-test'));
    await rm(other, { recursive: true, force: true });
  });

  it('cannot be taken ahead of the owner by a process that knows only the path', async () => {
    // A squatter on every name derivable from the path alone (abstract sockets are open to all users).
    const hash = createHash('sha256').update(dir).digest('hex');
    const squatters = [32, 40].map((length) => createServer().listen({ path: `\0keyfleet-lock-${hash.slice(0, length)}` }));
    try {
      held.push(await lockDir(dir, 'keyfleet-test'));
      expect((await stat(join(dir, '.keyfleet-lock-id'))).mode & 0o777).toBe(0o600);
    } finally {
      for (const s of squatters) s.close();
    }
  });

  it('creates a missing directory 0700', async () => {
    const fresh = join(dir, 'new', 'state');
    held.push(await lockDir(fresh, 'keyfleet-test'));
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);
  });

  it('leaves no stale lock behind when its holder is killed', async () => {
    const module = fileURLToPath(new URL('./lock-dir.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { lockDir } = await import(${JSON.stringify(module)}); await lockDir(${JSON.stringify(dir)}, 'child'); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((locked) => child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && locked()));
    await expect(lockDir(dir, 'keyfleet-test')).rejects.toThrow(`in use by child (pid ${child.pid})`);
    child.kill('SIGKILL');
    await new Promise((exited) => child.once('exit', exited));
    held.push(await lockDir(dir, 'keyfleet-test'));
  });
});
