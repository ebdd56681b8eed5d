import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { resolve } from 'node:path';

export interface DirLock {
  release(): Promise<void>;
}

/** The lock's name: an abstract Unix socket (Linux), one per directory. */
async function socketName(dir: string): Promise<{ real: string; path: string }> {
  const real = await realpath(dir).catch(() => resolve(dir));
  return { real, path: `\0keyfleet-lock-${createHash('sha256').update(real).digest('hex').slice(0, 32)}` };
}

/** Asks the holder who it is, for the error message; undefined if it does not say in time. */
function holder(path: string): Promise<string | undefined> {
  return new Promise((done) => {
    let text = '';
    const socket = connect({ path });
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => {
      const m = /^(\d+) (\S+)\n$/.exec(text);
      done(m ? `${m[2]} (pid ${m[1]})` : undefined);
    });
    socket.on('error', () => undefined);
  });
}

/**
 * Holds a directory for this process, for state that one process at a time may own (an
 * agent's identity and journal, an embedded database). The lock is an abstract Unix socket
 * named after the directory's real path, so the kernel frees it when the process dies and a
 * crash never leaves a stale lock (a pid file would). A second claimant learns from the socket
 * who holds it, for its error message. `owner` names this process in that message.
 */
export async function lockDir(dir: string, owner: string): Promise<DirLock> {
  const { real, path } = await socketName(dir);
  const server = createServer((socket) => socket.end(`${process.pid} ${owner}\n`));
  try {
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen({ path }, () => {
        server.off('error', failed);
        listening();
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new Error(`cannot lock ${real}: ${(err as Error).message}`);
    throw new Error(`${real} is in use by ${(await holder(path)) ?? 'another process'}; stop it first`);
  }
  // The lock must not keep the process alive on its own.
  server.unref();
  return { release: () => new Promise<void>((closed) => server.close(() => closed())) };
}
