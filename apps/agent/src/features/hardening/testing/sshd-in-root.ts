import { homedir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '@keyfleet/test-harness';
import { commandRunner, type CommandRunner } from '../command-runner.js';

/** The sshd binary: KEYFLEET_SSHD, the copy scripts/setup.sh unpacks into the cache, or the system's. */
export function findSshd(): string {
  const cache = join(process.env.KEYFLEET_CACHE ?? join(homedir(), '.cache', 'keyfleet'), 'openssh-server', 'usr', 'sbin');
  return findBinary('sshd', 'KEYFLEET_SSHD', [cache, '/usr/sbin'], 'bash scripts/setup.sh (unpacks Debian openssh-server into the cache)');
}

/**
 * Runs sshd as if the temp root were the host: in a private mount namespace whose /etc/passwd is
 * the root's (sshd wants its privilege-separation user) and whose /run is a fresh tmpfs with
 * /run/sshd. Nothing of this machine's /etc or /run changes.
 */
export function sshdInRoot(root: string, sshd: string): CommandRunner {
  return (cmd, args, opts) => {
    if (cmd !== sshd) return commandRunner(cmd, args, opts);
    const script = 'mount --bind "$1/etc/passwd" /etc/passwd && mount -t tmpfs tmpfs /run && mkdir /run/sshd && shift && exec "$@"';
    return commandRunner('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root, sshd, ...args], opts);
  };
}
