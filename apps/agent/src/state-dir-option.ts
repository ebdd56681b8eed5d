import { Option } from 'commander';

const DEFAULT_STATE_DIR = '/var/lib/keyfleet-agent';

/** `--state-dir` of every subcommand that works on the agent's state (features' subcommands included). */
export function stateDirOption(): Option {
  return new Option('--state-dir <dir>', 'where identity, credentials and the task journal live').env('KEYFLEET_AGENT_STATE_DIR').default(DEFAULT_STATE_DIR);
}
