import { type ChildProcess, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Set for the agent it runs, so an upgrade knows a supervisor will start the new artifact. */
export const SUPERVISOR_ENV = 'KEYFLEET_AGENT_SUPERVISOR';

export const supervisorFiles = (stateDir: string) => ({
  pid: join(stateDir, 'supervisor.pid'),
  log: join(stateDir, 'agent.log'),
});

/** A restart after a run this short counts as a crash and waits longer, up to MAX_DELAY_MS. */
const HEALTHY_RUN_MS = 10_000;
const MIN_DELAY_MS = 1_000;
const MAX_DELAY_MS = 10_000;

/**
 * `keyfleet-agent supervise`: what systemd's `Restart=always` does, for hosts (and tests, and
 * the demo) without systemd. Runs `<artifact> run` and starts it again whenever it exits,
 * reading the artifact file anew each time, so an upgrade that swapped it (and exited) gets
 * the new agent. SIGTERM/SIGINT stop the agent and then the supervisor; SIGHUP restarts the
 * agent at once (the installer sends it after replacing the artifact, an upgrade's watchdog after
 * putting the old one back). Output goes wherever the
 * supervisor's goes (the installer points both at `<state dir>/agent.log`).
 */
export async function supervise(opts: { artifact: string; stateDir: string; env?: NodeJS.ProcessEnv; log: (line: string) => void }): Promise<void> {
  const files = supervisorFiles(opts.stateDir);
  await writeFile(files.pid, `${process.pid}\n`, { mode: 0o600 });
  let child: ChildProcess | undefined;
  let stopping = false;
  // Aborted to end the wait before the next start early (stop, or SIGHUP: start now).
  let wake = new AbortController();
  let restartNow = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    opts.log(`supervisor: ${signal}; stopping the agent`);
    child?.kill('SIGTERM');
    wake.abort();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    opts.log('supervisor: SIGHUP; restarting the agent now');
    restartNow = true;
    child?.kill('SIGTERM');
    wake.abort();
  });

  let delay = MIN_DELAY_MS;
  try {
    while (!stopping) {
      const started = Date.now();
      child = spawn(process.execPath, [...process.execArgv, opts.artifact, 'run', '--state-dir', opts.stateDir], {
        env: { ...process.env, ...opts.env, [SUPERVISOR_ENV]: 'process' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      opts.log(`supervisor: started the agent (pid ${child.pid}) from ${opts.artifact}`);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
        child!.once('exit', (c, s) => resolve([c, s]));
        child!.once('error', (err) => {
          opts.log(`supervisor: cannot start the agent: ${err.message}`);
          resolve([null, null]);
        });
      });
      opts.log(`supervisor: the agent exited (${signal ?? `code ${code}`}) after ${Math.round((Date.now() - started) / 1000)} s`);
      if (stopping) break;
      delay = restartNow || Date.now() - started >= HEALTHY_RUN_MS ? MIN_DELAY_MS : Math.min(delay * 2, MAX_DELAY_MS);
      if (!restartNow) await sleep(delay, undefined, { signal: wake.signal }).catch(() => undefined);
      restartNow = false;
      wake = new AbortController();
    }
  } finally {
    await rm(files.pid, { force: true });
    opts.log('supervisor: stopped');
  }
}
