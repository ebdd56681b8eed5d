import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { TaskHandler } from '../../task-handler.js';

/** Probes run external binaries that may hang (a stuck Docker daemon, a remote DOCKER_HOST). */
const PROBE_TIMEOUT_MS = 5_000;

type Probe = { found: false } | { found: true; ok: boolean; stdout: string; stderr: string };

function probe(cmd: string, args: string[], signal: AbortSignal): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', signal, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve({ found: false });
      else resolve({ found: true, ok: !err, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function docker(signal: AbortSignal): Promise<{ present: boolean; version?: string }> {
  const res = await probe('docker', ['version', '--format', '{{.Server.Version}}'], signal);
  const version = res.found && res.ok ? res.stdout.trim() : '';
  if (version) return { present: true, version };
  // A CLI whose daemon is down, or a daemon socket without the CLI, still means Docker is installed.
  const socket = await access('/var/run/docker.sock').then(
    () => true,
    () => false,
  );
  return { present: res.found || socket };
}

async function java(signal: AbortSignal): Promise<{ present: boolean; version?: string }> {
  // Keycloak's launcher prefers JAVA_HOME, so that is the Java that matters.
  const bin = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const res = await probe(bin, ['-version'], signal);
  if (!res.found) return { present: false };
  const version = /version "([^"]+)"/.exec(res.stderr + res.stdout)?.[1];
  return version ? { present: true, version } : { present: true };
}

export const systemInfo: TaskHandler<'system.info'> = async (_input, ctx) => {
  // Loaded here only: systeminformation is large and the idle agent should not pay for it.
  const si = (await import('systeminformation')).default;
  const [os, cpu, mem, disks, dockerInfo, javaInfo] = await Promise.all([si.osInfo(), si.cpu(), si.mem(), si.fsSize(), docker(ctx.signal), java(ctx.signal)]);
  return {
    hostname: os.hostname || hostname(),
    os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel, arch: os.arch },
    cpu: { model: `${cpu.manufacturer} ${cpu.brand}`.trim(), cores: cpu.cores, physicalCores: cpu.physicalCores },
    memory: { totalBytes: mem.total, availableBytes: mem.available },
    disks: disks.map((d) => ({ mount: d.mount, fs: d.type, sizeBytes: d.size, usedBytes: d.used })),
    docker: dockerInfo,
    java: javaInfo,
  };
};
