import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@keyfleet/log';
import { writeFileAtomic } from '../../write-file-atomic.js';

const STOP_GRACE_MS = 30_000;
/** After SIGKILL: a process that is still there by then is stuck in the kernel, and the agent starts anyway. */
const KILL_WAIT_MS = 10_000;

/** A scratch Keycloak as the drill that started it recorded it, for as long as it runs. */
interface ScratchRecord {
  pid: number;
  /** The boot and the process's start time in it: a pid reused by another process never matches. */
  identity: string;
  dataDir: string;
  startedAt: string;
}

const recordPath = (stateDir: string) => join(stateDir, 'backups', 'scratch-keycloak.json');

/** Which process `pid` is right now (boot id and start time); undefined when none runs under it, or it is a zombie. */
async function processIdentity(pid: number): Promise<string | undefined> {
  const [stat, boot] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined),
    readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => undefined),
  ]);
  if (!stat || !boot) return undefined;
  // After the command name, which may itself hold spaces and parentheses: the state, then 18 more fields, then the start time.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || !fields[19]) return undefined;
  return `${boot.trim()}/${fields[19]}`;
}

/**
 * SIGTERM to the process group (the scratch Keycloak leads its own; else the process alone),
 * SIGKILL after the grace; resolves with whether it is gone.
 */
async function stopProcess(pid: number, identity: string): Promise<boolean> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // Gone already.
      }
    }
  };
  signal('SIGTERM');
  const killAt = Date.now() + STOP_GRACE_MS;
  let killed = false;
  while ((await processIdentity(pid)) === identity) {
    if (killed && Date.now() > killAt + KILL_WAIT_MS) return false;
    if (!killed && Date.now() > killAt) {
      signal('SIGKILL');
      killed = true;
    }
    await sleep(100);
  }
  return true;
}

/**
 * What a restore drill's scratch Keycloak leaves behind when the agent dies mid-drill: the
 * Keycloak itself (detached, so it outlives the agent, on the scratch database) and its data dir.
 * The drill records it while it runs; the agent's next start reaps it (`scratchReaper`). The pid
 * alone is never trusted: only the process with the recorded start identity is stopped.
 */
export const scratchLeftovers = {
  path: recordPath,

  /**
   * Records a scratch Keycloak just spawned. Without /proc (not Linux) nothing could later tell
   * whether the pid is still this process, so nothing is recorded and nothing will be stopped.
   */
  async record(stateDir: string, pid: number, dataDir: string): Promise<void> {
    const identity = await processIdentity(pid);
    if (!identity) return;
    await mkdir(dirname(recordPath(stateDir)), { recursive: true, mode: 0o700 });
    const record: ScratchRecord = { pid, identity, dataDir, startedAt: new Date().toISOString() };
    await writeFileAtomic(recordPath(stateDir), JSON.stringify(record));
  },

  /** The scratch Keycloak stopped: nothing to reap. */
  async forget(stateDir: string): Promise<void> {
    await rm(recordPath(stateDir), { force: true });
  },

  /** Stops a recorded scratch Keycloak that still runs, removes its data dir and the record, and logs what it did. */
  async reap(stateDir: string, log: Logger): Promise<void> {
    const path = recordPath(stateDir);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    let record: ScratchRecord | undefined;
    try {
      record = JSON.parse(text) as ScratchRecord;
    } catch {
      record = undefined;
    }
    if (!Number.isInteger(record?.pid) || typeof record?.identity !== 'string' || typeof record.dataDir !== 'string') {
      log.warn({ record: path }, 'dropped an unreadable scratch Keycloak record; nothing reaped');
      await rm(path, { force: true });
      return;
    }
    const running = (await processIdentity(record.pid)) === record.identity;
    const stopped = running && (await stopProcess(record.pid, record.identity));
    // A record is only ever written by the drill, but what it names is removed recursively: only below the backups dir.
    const inside = relative(join(stateDir, 'backups'), record.dataDir);
    const dataDir = inside && !inside.startsWith('..') && !inside.startsWith('/') ? record.dataDir : undefined;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await rm(path, { force: true });
    const what = !running
      ? `its Keycloak (pid ${record.pid}) had exited already`
      : stopped
        ? `stopped its Keycloak (pid ${record.pid})`
        : `its Keycloak (pid ${record.pid}) did not go even on SIGKILL`;
    log.warn(
      { pid: record.pid, stopped, dataDir: dataDir ?? null, startedAt: record.startedAt },
      `reaped the scratch Keycloak a restore drill started at ${record.startedAt} and left behind: ${what}; ${dataDir ? `removed its data dir ${dataDir}` : `left ${record.dataDir} alone (outside the backups dir)`}`,
    );
  },
};
