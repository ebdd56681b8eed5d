import { randomBytes } from 'node:crypto';
import { commandRunner, type CommandRunner, mustRun } from '../command-runner.js';

export interface NetworkNamespace {
  name: string;
  /** Runs a program inside the namespace: its sysctl net.* values and nftables are the namespace's own. */
  run: CommandRunner;
  remove(): Promise<void>;
}

/** A fresh network namespace (`ip netns add`), so tests change nftables and net.* sysctls of nothing but it. */
export async function createNetworkNamespace(): Promise<NetworkNamespace> {
  const name = `kf-hard-${randomBytes(4).toString('hex')}`;
  await mustRun(commandRunner, 'ip', ['netns', 'add', name]);
  return {
    name,
    run: (cmd, args, opts) => commandRunner('ip', ['netns', 'exec', name, cmd, ...args], opts),
    remove: async () => {
      await mustRun(commandRunner, 'ip', ['netns', 'del', name]);
    },
  };
}
