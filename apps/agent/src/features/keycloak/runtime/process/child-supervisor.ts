import { spawn } from 'node:child_process';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../../../../write-file-atomic.js';
import type { KeycloakSupervisor, SupervisedLaunch, SupervisedStatus } from './keycloak-supervisor.js';

interface PidFile {
  pid: number;
  installDir: string;
  startedAt: string;
}

const STOP_GRACE_MS = 60_000;
const LOG_MAX_BYTES = 50 * 1024 * 1024;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs kc.sh as a detached child in its own process group, with output appended to a log
 * file and its pid in a pid file, so a restarted agent still finds, stops and reports it.
 * The pid is only trusted while /proc shows it running from the recorded dist (pid reuse).
 */
export class ChildSupervisor implements KeycloakSupervisor {
  readonly kind = 'child';

  constructor(private readonly paths: { pidFile: string; logFile: string }) {}

  private async readPid(): Promise<PidFile | undefined> {
    const text = await readFile(this.paths.pidFile, 'utf8').catch(() => undefined);
    if (!text) return undefined;
    try {
      return JSON.parse(text) as PidFile;
    } catch {
      return undefined;
    }
  }

  private async live(): Promise<PidFile | undefined> {
    const p = await this.readPid();
    if (!p || !alive(p.pid)) return undefined;
    const cmdline = await readFile(`/proc/${p.pid}/cmdline`, 'utf8').catch(() => undefined);
    // Without /proc (not Linux) the signal probe has to do.
    // With the trailing slash: dist dirs of two slots share a prefix (26.7.4-<key> and 26.7.4-<key>-a).
    if (cmdline !== undefined && !cmdline.includes(`${p.installDir}/`)) return undefined;
    const state = await readFile(`/proc/${p.pid}/stat`, 'utf8').catch(() => '');
    // A zombie is dead: its parent (an earlier agent) has not reaped it yet.
    if (/\) Z /.test(state)) return undefined;
    return p;
  }

  async start(launch: SupervisedLaunch): Promise<void> {
    if (await this.live()) throw new Error('Keycloak is already running');
    // A restart starts a fresh log when the old one has grown large; the rest of the time it appends.
    const size = await stat(this.paths.logFile).then(
      (s) => s.size,
      () => 0,
    );
    const log = await open(this.paths.logFile, size > LOG_MAX_BYTES ? 'w' : 'a', 0o600);
    try {
      const child = spawn(`${launch.installDir}/bin/kc.sh`, ['start', '--optimized'], {
        cwd: launch.installDir,
        env: { PATH: process.env.PATH, LANG: 'C.UTF-8', JAVA_HOME: launch.javaHome, ...launch.env },
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
      });
      const spawned = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid!));
        child.once('error', reject);
      });
      child.unref();
      await writeFileAtomic(
        this.paths.pidFile,
        JSON.stringify({ pid: spawned, installDir: launch.installDir, startedAt: new Date().toISOString() } satisfies PidFile),
      );
    } finally {
      await log.close();
    }
  }

  async stop(): Promise<boolean> {
    const p = await this.live();
    if (!p) {
      await rm(this.paths.pidFile, { force: true });
      return false;
    }
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-p.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    signalGroup('SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (await this.live()) {
      if (Date.now() > deadline) signalGroup('SIGKILL');
      await sleep(200);
    }
    await rm(this.paths.pidFile, { force: true });
    return true;
  }

  async status(): Promise<SupervisedStatus> {
    const p = await this.live();
    return p ? { running: true, pid: p.pid, startedAt: new Date(p.startedAt) } : { running: false };
  }

  async logs(lines: number): Promise<string> {
    const file = await open(this.paths.logFile, 'r').catch(() => undefined);
    if (!file) return '';
    try {
      // The end of the file is enough for the last lines; a log can be large.
      const { size } = await file.stat();
      const length = Math.min(size, lines * 400);
      const buf = Buffer.alloc(length);
      await file.read(buf, 0, length, size - length);
      return buf
        .toString('utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n');
    } finally {
      await file.close();
    }
  }

  async remove(): Promise<void> {
    await this.stop();
    await rm(this.paths.logFile, { force: true });
  }
}
