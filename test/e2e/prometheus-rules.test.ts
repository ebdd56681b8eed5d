import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findBinary, repoRoot } from '@keyfleet/test-harness';

const run = promisify(execFile);
const dir = join(repoRoot, 'deploy/prometheus');

describe('deploy/prometheus (real promtool)', () => {
  const promtool = findBinary('promtool', 'KEYFLEET_PROMTOOL', [], 'apt-get install prometheus');

  it('the alert rules are valid and fire on the series /v1/fleet/metrics serves', async () => {
    const check = await run(promtool, ['check', 'rules', 'keyfleet-alerts.yml'], { cwd: dir });
    expect(check.stdout).toContain('SUCCESS: 13 rules found');
    // Unit tests: a host going offline, a login-failure burst and the fact rules (certificate, backups,
    // agent version, hardening drift) raise the alerts with host labels, and a healthy host raises none.
    const test = await run(promtool, ['test', 'rules', 'keyfleet-alerts.test.yml'], { cwd: dir });
    expect(test.stdout).toContain('SUCCESS');
  });
});
