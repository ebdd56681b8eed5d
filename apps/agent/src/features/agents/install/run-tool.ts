import { execFile } from 'node:child_process';

/**
 * Runs a system tool (useradd, systemctl, …) to completion; resolves with its output, or
 * throws with the command line and what it printed, which is what the operator needs to see.
 */
export function runTool(cmd: string, args: string[], opts: { timeoutMs?: number; allowFailure?: boolean } = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e?.code === 'ENOENT') return reject(new Error(`${cmd} not found on PATH`));
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      if (code !== 0 && !opts.allowFailure) return reject(new Error(`\`${[cmd, ...args].join(' ')}\` failed (exit ${code})${output ? `: ${output}` : ''}`));
      resolve({ code, output });
    });
  });
}
