import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@keyfleet/test-harness';
import { agentUnit, DEFAULT_UNIT_OPTIONS } from './agent-unit.js';

describe('agentUnit', () => {
  it('with the defaults is deploy/systemd/keyfleet-agent.service (regenerate that file from it after a change)', async () => {
    expect(await readFile(join(repoRoot, 'deploy/systemd/keyfleet-agent.service'), 'utf8')).toBe(agentUnit(DEFAULT_UNIT_OPTIONS));
  });

  it('names the docker group only when the host has one', () => {
    expect(agentUnit({ ...DEFAULT_UNIT_OPTIONS, dockerGroup: false })).not.toContain('docker\n');
    expect(agentUnit(DEFAULT_UNIT_OPTIONS)).toContain('SupplementaryGroups=docker\n');
  });
});
