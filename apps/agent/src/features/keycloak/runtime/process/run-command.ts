import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  output: string;
}

/**
 * Runs a command to completion (abortable) and returns its exit code with stdout and stderr
 * interleaved as they arrived; a command that cannot be started at all throws.
 */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    let output = '';
    const child = execFile(cmd, args, {
      env: opts.env,
      cwd: opts.cwd,
      signal: opts.signal,
      timeout: opts.timeoutMs ?? 10 * 60_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
    });
    const collect = (chunk: Buffer | string) => {
      output += chunk.toString();
      // Only the end matters for error messages; keep memory bounded on chatty commands.
      if (output.length > 1_000_000) output = output.slice(-500_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.name === 'AbortError') reject(err.code === 'ENOENT' ? new Error(`${cmd} not found`) : err);
    });
    child.once('close', (code, signal) => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}
