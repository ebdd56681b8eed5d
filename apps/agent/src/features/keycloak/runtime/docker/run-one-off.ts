import { posix } from 'node:path';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import { containerLogs } from './container-logs.js';

export interface OneOffOptions {
  image: string;
  cmd: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  /** Copied into the container before it starts. */
  put?: { path: string; content: string };
  /** Read back from the container after it exited. */
  get?: string;
  signal: AbortSignal;
}

export interface OneOffResult {
  code: number;
  output: string;
  file?: string;
}

async function readFileFromArchive(archive: NodeJS.ReadableStream): Promise<string | undefined> {
  const ex = extract();
  let content: string | undefined;
  ex.on('entry', (header, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: unknown) => void parts.push(c as Buffer));
    stream.on('end', () => {
      if (content === undefined && header.type === 'file') content = Buffer.concat(parts).toString('utf8');
      next();
    });
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    ex.once('finish', resolve);
    ex.once('error', reject);
    archive.pipe(ex);
  });
  return content;
}

/**
 * Runs a command in a throwaway container without network (e.g. kc.sh update-compatibility
 * with a candidate image and config) and returns its exit code and output; the container is
 * removed afterwards whatever happens.
 */
export async function runOneOff(docker: Docker, o: OneOffOptions): Promise<OneOffResult> {
  const container = await docker.createContainer({
    Image: o.image,
    Cmd: o.cmd,
    Env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`),
    Labels: { 'keyfleet.managed': 'true', ...o.labels },
    HostConfig: { NetworkMode: 'none' },
  });
  const onAbort = () => void container.kill().catch(() => undefined);
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (o.put) {
      const archive = pack();
      archive.entry({ name: posix.basename(o.put.path), mode: 0o644 }, o.put.content);
      archive.finalize();
      await container.putArchive(archive as unknown as NodeJS.ReadableStream, { path: posix.dirname(o.put.path) });
    }
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    o.signal.throwIfAborted();
    const output = await containerLogs(container, 300);
    const file = o.get && StatusCode === 0 ? await readFileFromArchive(await container.getArchive({ path: o.get })) : undefined;
    return { code: StatusCode, output, file };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    await container.remove({ force: true }).catch(() => undefined);
  }
}
