import { identityStore } from '../../identity-store.js';
import { type CommandRunner, commandRunner } from './command-runner.js';

/** How the hardening feature reaches the host: injectable so tests use a temp root and their own runner. */
export interface HardeningHost {
  /** Prefix of every host file (`/`, or a copy of a Debian layout in tests). */
  root: string;
  run: CommandRunner;
  sshd: string;
  /** The NATS URLs this agent connects to. */
  natsServers(stateDir: string): Promise<string[]>;
}

/** The real host, from the agent's environment: KEYFLEET_HARDENING_ROOT and KEYFLEET_SSHD exist for tests and chroots. */
export function hardeningHostFromEnv(env: NodeJS.ProcessEnv = process.env): HardeningHost {
  return {
    root: env.KEYFLEET_HARDENING_ROOT || '/',
    run: commandRunner,
    sshd: env.KEYFLEET_SSHD || 'sshd',
    // The same precedence as `keyfleet-agent run`: KEYFLEET_NATS_URL overrides the enrolled servers.
    natsServers: async (stateDir) =>
      env.KEYFLEET_NATS_URL ? env.KEYFLEET_NATS_URL.split(',').map((s) => s.trim()) : (await identityStore.load(stateDir)).identity.natsServers,
  };
}
