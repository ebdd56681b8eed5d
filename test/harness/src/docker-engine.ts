import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { findBinary } from './find-binary.js';

export interface DockerEngine {
  /** Unix socket of the engine, e.g. for `new Docker({ socketPath })`. */
  socketPath: string;
  /** The same as a DOCKER_HOST value (`unix://...`) for the docker CLI. */
  dockerHost: string;
  /** Releases this user; the engine the harness started stops when its last user is gone. */
  stop(): Promise<void>;
}

const SYSTEM_SOCKET = '/var/run/docker.sock';
const RUN_DIR = process.env.KEYFLEET_TEST_DOCKER_RUN_DIR ?? '/run/keyfleet-test-docker';
// Outside the run dir, so images built by earlier runs (minutes with vfs) are reused.
const DATA_ROOT = process.env.KEYFLEET_TEST_DOCKER_DATA_ROOT ?? '/var/lib/keyfleet-test-docker';
const SOCKET = join(RUN_DIR, 'docker.sock');
const USERS_DIR = join(RUN_DIR, 'users');
const LOCK_DIR = join(RUN_DIR, 'lock');

/**
 * A Docker engine for tests: DOCKER_HOST or /var/run/docker.sock when one answers; otherwise a
 * shared dockerd started the way this environment allows (vfs, no iptables, no bridge: containers
 * must use `--network host` or `none`). Test files running in parallel share that one engine; each
 * caller registers as a user and the last `stop()` shuts it down.
 */
export async function startDockerd(): Promise<DockerEngine> {
  const configured = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : undefined;
  for (const socketPath of [configured, SYSTEM_SOCKET]) {
    if (socketPath && (await pings(socketPath))) return { socketPath, dockerHost: `unix://${socketPath}`, stop: async () => {} };
  }

  await mkdir(USERS_DIR, { recursive: true });
  const user = join(USERS_DIR, `${process.pid}-${randomBytes(4).toString('hex')}`);
  await withLock(async () => {
    await writeFile(user, '');
    if (await pings(SOCKET)) return;
    await launchDockerd();
  });

  let stopping: Promise<void> | undefined;
  return {
    socketPath: SOCKET,
    dockerHost: `unix://${SOCKET}`,
    stop: () =>
      (stopping ??= withLock(async () => {
        await rm(user, { force: true });
        if ((await liveUsers()).length === 0) await stopDockerd();
      })),
  };
}

async function launchDockerd(): Promise<void> {
  const bin = findBinary('dockerd', 'KEYFLEET_DOCKERD', ['/usr/sbin', '/usr/bin'], 'apt-get install docker.io');
  await mkdir(DATA_ROOT, { recursive: true });
  const logPath = join(RUN_DIR, 'dockerd.log');
  const log = openSync(logPath, 'w');
  // Detached: the engine outlives this test worker while other workers still use it.
  const proc = spawn(
    bin,
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--data-root=${DATA_ROOT}`,
      `--exec-root=${join(RUN_DIR, 'exec')}`,
      `--pidfile=${join(RUN_DIR, 'docker.pid')}`,
      `--host=unix://${SOCKET}`,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  proc.unref();
  let exitCode: number | null | undefined;
  proc.once('exit', (code) => (exitCode = code));
  const deadline = Date.now() + 60_000;
  while (!(await pings(SOCKET))) {
    if (exitCode !== undefined || Date.now() > deadline) {
      if (exitCode === undefined) killQuietly(proc.pid!, 'SIGKILL');
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
      throw new Error(`dockerd ${exitCode === undefined ? 'did not answer within 60s' : `exited (${exitCode})`}; last log lines:\n${tail}`);
    }
    await sleep(250);
  }
}

async function stopDockerd(): Promise<void> {
  const pid = Number(await readFile(join(RUN_DIR, 'docker.pid'), 'utf8').catch(() => ''));
  if (!pid) return;
  killQuietly(pid, 'SIGTERM');
  // dockerd stops its containers and containerd first; give it time, then insist.
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) killQuietly(pid, 'SIGKILL');
    await sleep(200);
  }
}

/** Users whose process is gone (a crashed worker) no longer hold the engine. */
async function liveUsers(): Promise<string[]> {
  const live: string[] = [];
  for (const name of await readdir(USERS_DIR).catch(() => [] as string[])) {
    if (isAlive(Number(name.split('-')[0]))) live.push(name);
    else await rm(join(USERS_DIR, name), { force: true });
  }
  return live;
}

/** A cross-process mutex (mkdir is atomic); a lock left by a dead process is taken over. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(join(LOCK_DIR, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(join(LOCK_DIR, 'owner'), 'utf8').catch(() => ''));
      if (owner && !isAlive(owner)) await rm(LOCK_DIR, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`docker engine lock ${LOCK_DIR} held by pid ${owner || '?'} for 120s`);
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}

function pings(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function isAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
