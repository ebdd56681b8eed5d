import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startDockerd } from './docker-engine.js';

const run = promisify(execFile);

describe('startDockerd', () => {
  it('gives a working engine that users share and the last user stops', async () => {
    const first = await startDockerd();
    const second = await startDockerd();
    expect(second.socketPath).toBe(first.socketPath);
    const info = await run('docker', ['info', '--format', '{{.Driver}} {{.ServerVersion}}'], { env: { ...process.env, DOCKER_HOST: first.dockerHost } });
    expect(info.stdout).toMatch(/^\S+ \d+\.\d+/);

    await first.stop();
    // Still serving the other user.
    const version = await run('docker', ['version', '--format', '{{.Server.APIVersion}}'], { env: { ...process.env, DOCKER_HOST: second.dockerHost } });
    expect(version.stdout.trim()).toMatch(/^1\.\d+$/);

    await second.stop();
    if (second.socketPath.startsWith('/run/keyfleet-test-docker/')) {
      const others = await readdir('/run/keyfleet-test-docker/users').catch(() => []);
      const answers = await run('docker', ['version'], { env: { ...process.env, DOCKER_HOST: second.dockerHost } }).then(
        () => true,
        () => false,
      );
      // Gone, unless another test file (another worker) is still using it.
      expect(answers).toBe(others.length > 0);
    }
  }, 120_000);
});
