import { resolve } from 'node:path';
import { Option } from 'commander';

const DEFAULT_STATE_DIR = '/var/lib/keyfleet-agent';

/**
 * `--state-dir` of every subcommand that works on the agent's state (features' subcommands included),
 * made absolute whether it came from the flag or KEYFLEET_AGENT_STATE_DIR: the agent hands it to
 * processes that run from other working directories (Keycloak's kc.sh, the front).
 */
export function stateDirOption(): Option {
  return new Option('--state-dir <dir>', 'where identity, credentials and the task journal live')
    .env('KEYFLEET_AGENT_STATE_DIR')
    .argParser((dir: string) => resolve(dir))
    .default(DEFAULT_STATE_DIR);
}
