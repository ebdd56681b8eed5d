import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program on the host; injectable so tests can run it in a network namespace or record it. */
export type CommandRunner = (cmd: string, args: readonly string[], opts?: { signal?: AbortSignal }) => Promise<CommandResult>;

/** The real runner: spawns without a shell, collects output; a missing program is exit 127, as in a shell. */
export const commandRunner: CommandRunner = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve({ code: 127, stdout, stderr: `${cmd}: not found` }) : reject(err)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

/** `cmd args…` or throws with its stderr: for steps whose failure must stop the rule. */
export async function mustRun(run: CommandRunner, cmd: string, args: readonly string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
