import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * A Keyfleet program (hub, agent, CLI) run from source as a real child process, so
 * tests can kill it at any moment. Output is kept for assertions and for the error
 * message when something does not start.
 */
export class ServiceProcess {
  readonly output: string[] = [];
  private proc: ChildProcess | undefined;
  private waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    /** `plain`: `entry` is a built file node runs as it is (an agent artifact), from `cwd`. */
    private readonly opts: { plain?: boolean; cwd?: string } = {},
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): this {
    const argv = this.opts.plain ? [this.entry, ...this.args] : ['--import', 'tsx', join(repoRoot, this.entry), ...this.args];
    const proc = spawn(process.execPath, argv, {
      cwd: this.opts.cwd ?? repoRoot,
      env: { ...process.env, KEYFLEET_LOG_LEVEL: process.env.KEYFLEET_LOG_LEVEL ?? 'debug', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (!line) continue;
        this.output.push(line);
        for (const w of [...this.waiters]) {
          const m = line.match(w.re);
          if (m) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    return this;
  }

  /** Resolves with the first output line (past or future) matching `re`. */
  async waitFor(re: RegExp, timeoutMs = 30_000, fromLine = 0): Promise<RegExpMatchArray> {
    for (const line of this.output.slice(fromLine)) {
      const m = line.match(re);
      if (m) return m;
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.name}: no output matching ${re} within ${timeoutMs} ms; last output:\n${this.output.slice(-30).join('\n')}`));
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      const exitWatch = this.proc;
      exitWatch?.once('exit', (code, signal) => {
        if (!this.waiters.includes(waiter)) return;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before printing ${re}; last output:\n${this.output.slice(-30).join('\n')}`));
      });
    });
  }

  /** Resolves with the exit code (null after a signal) once the process has exited. */
  async exited(): Promise<number | null> {
    const proc = this.proc;
    if (!proc) throw new Error(`${this.name} was never started`);
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  /** Sends `signal` and waits for the exit. SIGKILL simulates a crash. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = this.exited();
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
