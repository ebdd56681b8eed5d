import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PasswdUser {
  name: string;
  uid: number;
  home: string;
}

/** The users of `<root>/etc/passwd` (the host's own file under the rules' root prefix, not the agent's NSS view). */
export async function passwdUsers(root: string): Promise<PasswdUser[]> {
  const text = await readFile(join(root, 'etc/passwd'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 7 && f[0] && !f[0].startsWith('#'))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), home: f[5]! }));
}
