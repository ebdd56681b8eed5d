import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs the `keyfleet` CLI against a hub without blocking the event loop: a blocking spawnSync
 * leaves this process's idle keep-alive sockets to be closed by the hub unnoticed, and the next
 * fetch then fails on a dead socket.
 */
export function runCli(repoRoot: string, hubUrl: string, token: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      join(repoRoot, 'keyfleet'),
      args,
      { env: { ...process.env, KEYFLEET_HUB: hubUrl, KEYFLEET_TOKEN: token }, timeout: 60_000, encoding: 'utf8' },
      (_err, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }),
    );
  });
}
