import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { stateDirOption } from './state-dir-option.js';

function parse(args: string[]): string {
  let stateDir = '';
  const program = new Command('agent').exitOverride();
  program
    .command('run')
    .addOption(stateDirOption())
    .action((o: { stateDir: string }) => {
      stateDir = o.stateDir;
    });
  program.parse(['run', ...args], { from: 'user' });
  return stateDir;
}

describe('--state-dir', () => {
  const saved = process.env.KEYFLEET_AGENT_STATE_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.KEYFLEET_AGENT_STATE_DIR;
    else process.env.KEYFLEET_AGENT_STATE_DIR = saved;
  });

  it('is absolute whether it comes from the flag, the environment or the default', () => {
    delete process.env.KEYFLEET_AGENT_STATE_DIR;
    expect(parse(['--state-dir', '.keyfleet/agent'])).toBe(join(process.cwd(), '.keyfleet/agent'));
    expect(parse([])).toBe('/var/lib/keyfleet-agent');
    process.env.KEYFLEET_AGENT_STATE_DIR = 'state/../agent-state';
    expect(parse([])).toBe(join(process.cwd(), 'agent-state'));
  });
});
