import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, goBinDir } from './find-binary.js';
import { testPort } from './test-port.js';

export interface S3Server {
  /** http://127.0.0.1:<port>, path-style. */
  endpoint: string;
  /** A bucket that exists and is empty. */
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The posix backend's root: `<dir>/<bucket>/<key>` is each object's file. */
  dir: string;
  /** Stops the gateway (its data stays until `stop`), e.g. to test a store that is down. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const HINT = 'go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (scripts/setup.sh does)';

/**
 * A real S3-compatible server: versitygw (Apache-2.0) with its posix backend in a temp dir, on
 * a loopback port, with one bucket. Ready when it answers HTTP; removed with its data on stop.
 */
export async function startS3Server(): Promise<S3Server> {
  const bin = findBinary('versitygw', 'KEYFLEET_VERSITYGW', [goBinDir, '/usr/local/go/bin'], HINT);
  const dir = await mkdtemp(join(tmpdir(), 'kf-s3-'));
  const bucket = 'keyfleet-backups';
  await mkdir(join(dir, bucket));
  const accessKeyId = `kf${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(18).toString('base64url');
  const port = testPort();
  const output: string[] = [];
  const proc: ChildProcess = spawn(bin, ['--access', accessKeyId, '--secret', secretAccessKey, '--port', `127.0.0.1:${port}`, 'posix', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean));
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`versitygw exited with ${proc.exitCode}: ${output.slice(-10).join('\n')}`);
    }
    // Any HTTP answer (403 without credentials) means it serves.
    const answered = await fetch(endpoint, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    if (answered) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`versitygw did not answer on ${endpoint} within 30 s: ${output.slice(-10).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    dir,
    kill,
    async stop() {
      process.off('exit', killOnExit);
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
