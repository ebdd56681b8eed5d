import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockStateDir, type StateDirLock } from './state-dir-lock.js';

describe('lockStateDir', () => {
  let dir: string;
  const held: StateDirLock[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-lock-'));
  });
  afterEach(async () => {
    for (const l of held.splice(0)) await l.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second holder of the same directory, also through a symlink, and names the holder', async () => {
    held.push(await lockStateDir(dir));
    const link = `${dir}-link`;
    await symlink(dir, link);
    try {
      await expect(lockStateDir(link)).rejects.toThrow(`another keyfleet-agent (pid ${process.pid}) is using state dir ${dir}; stop it first`);
    } finally {
      await rm(link);
    }
  });

  it('is free again after release, and other directories are independent', async () => {
    const first = await lockStateDir(dir);
    const other = await mkdtemp(join(tmpdir(), 'kf-lock-'));
    held.push(await lockStateDir(other));
    await first.release();
    held.push(await lockStateDir(dir));
    await rm(other, { recursive: true, force: true });
  });

  it('leaves no stale lock behind when its holder is killed', async () => {
    const module = fileURLToPath(new URL('./state-dir-lock.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      `const { lockStateDir } = await import(${JSON.stringify(module)}); await lockStateDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((locked) => child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && locked()));
    await expect(lockStateDir(dir)).rejects.toThrow(`(pid ${child.pid})`);
    child.kill('SIGKILL');
    await new Promise((exited) => child.once('exit', exited));
    held.push(await lockStateDir(dir));
  });
});
