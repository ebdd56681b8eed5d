import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChildSupervisor } from './child-supervisor.js';

// Stands in for kc.sh: logs its arguments and one variable, then runs until SIGTERM, like Keycloak.
const FAKE_KC = `#!/bin/sh
echo "started $* with $KC_HOSTNAME"
trap 'echo stopping; exit 0' TERM
while :; do sleep 0.1; done
`;

describe('ChildSupervisor', () => {
  let dir: string;
  let installDir: string;
  const paths = () => ({ pidFile: join(dir, 'keycloak.pid'), logFile: join(dir, 'keycloak.log') });
  const launch = () => ({ installDir, javaHome: '/nonexistent-jdk', env: { KC_HOSTNAME: 'id.example.com' } });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-supervisor-'));
    installDir = join(dir, '26.7.4-abc');
    await mkdir(join(installDir, 'bin'), { recursive: true });
    await writeFile(join(installDir, 'bin', 'kc.sh'), FAKE_KC);
    await chmod(join(installDir, 'bin', 'kc.sh'), 0o755);
  });
  afterEach(async () => {
    await new ChildSupervisor(paths()).stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs kc.sh start --optimized detached, and a new supervisor (a restarted agent) finds, reports and stops it', async () => {
    const first = new ChildSupervisor(paths());
    await first.start(launch());
    const { pid } = JSON.parse(await readFile(paths().pidFile, 'utf8')) as { pid: number };

    const later = new ChildSupervisor(paths());
    const status = await later.status();
    expect(status).toMatchObject({ running: true, pid });
    expect(Date.now() - status.startedAt!.getTime()).toBeLessThan(10_000);
    await expect(later.start(launch())).rejects.toThrow('Keycloak is already running');
    await vi.waitFor(async () => expect(await later.logs(10)).toContain('started start --optimized with id.example.com'), { timeout: 5_000 });

    expect(await later.stop()).toBe(true);
    expect(await later.status()).toEqual({ running: false });
    // Gone for good once this process (its parent) has reaped it.
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(), { timeout: 5_000 });
    expect(await later.stop()).toBe(false);
  });

  it('does not take a pid that now belongs to another program for Keycloak', async () => {
    await writeFile(paths().pidFile, JSON.stringify({ pid: process.pid, installDir, startedAt: new Date().toISOString() }));
    expect(await new ChildSupervisor(paths()).status()).toEqual({ running: false });
  });
});
