import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from './run-tool.js';

export interface UserIds {
  uid: number;
  gid: number;
}

/** useradd/userdel/groupdel act on `root`'s /etc files with --prefix (no chroot: the tools stay the host's). */
const prefix = (root: string) => (root === '/' ? [] : ['--prefix', root]);

async function lines(root: string, file: 'passwd' | 'group'): Promise<string[][]> {
  const text = await readFile(join(root, 'etc', file), 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.split(':'));
}

/** The user's uid and primary gid in `root`'s /etc/passwd. */
export async function findUser(root: string, name: string): Promise<UserIds | undefined> {
  const entry = (await lines(root, 'passwd')).find((f) => f[0] === name);
  return entry ? { uid: Number(entry[2]), gid: Number(entry[3]) } : undefined;
}

export async function groupExists(root: string, name: string): Promise<boolean> {
  return (await lines(root, 'group')).some((f) => f[0] === name);
}

/**
 * The agent's system user: no login, no home of its own (its state dir), its own group, and the
 * docker group when there is one (Docker runtime of Keycloak). Created only when missing.
 */
export async function ensureSystemUser(root: string, name: string, home: string): Promise<{ ids: UserIds; created: boolean }> {
  const found = await findUser(root, name);
  if (found) return { ids: found, created: false };
  const shell = ['/usr/sbin/nologin', '/sbin/nologin'].find((s) => existsSync(s)) ?? '/bin/false';
  await runTool('useradd', [
    ...prefix(root),
    '--system',
    '--user-group',
    '--home-dir',
    home,
    '--no-create-home',
    '--shell',
    shell,
    '--comment',
    'Keyfleet agent',
    name,
  ]);
  if (await groupExists(root, 'docker')) await runTool('usermod', [...prefix(root), '--append', '--groups', 'docker', name]);
  const ids = await findUser(root, name);
  if (!ids) throw new Error(`useradd reported success but ${join(root, 'etc/passwd')} has no ${name}`);
  return { ids, created: true };
}

/** Removes the user and its group; false when there was neither. */
export async function removeSystemUser(root: string, name: string): Promise<boolean> {
  let removed = false;
  if (await findUser(root, name)) {
    await runTool('userdel', [...prefix(root), name]);
    removed = true;
  }
  // userdel leaves the user's group behind when login.defs says so (or has no say, under --prefix).
  if (await groupExists(root, name)) {
    await runTool('groupdel', [...prefix(root), name]);
    removed = true;
  }
  return removed;
}
