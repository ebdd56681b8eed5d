import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { resolve } from 'node:path';

export interface StateDirLock {
  release(): Promise<void>;
}

/** The lock's name: an abstract Unix socket (Linux), one per state directory. */
async function socketName(stateDir: string): Promise<{ dir: string; path: string }> {
  const dir = await realpath(stateDir).catch(() => resolve(stateDir));
  return { dir, path: `\0keyfleet-agent-${createHash('sha256').update(dir).digest('hex').slice(0, 32)}` };
}

/** Asks the holder for its pid, for the error message; undefined if it does not say in time. */
function holderPid(path: string): Promise<number | undefined> {
  return new Promise((done) => {
    let text = '';
    const socket = connect({ path });
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => done(/^\d+\n$/.test(text) ? Number(text) : undefined));
    socket.on('error', () => undefined);
  });
}

/**
 * Holds a state directory for this process. Two agents on one state dir would share a NATS
 * identity, both take every task from its subjects and write one journal: tasks would run
 * twice. The lock is an abstract Unix socket named after the directory's real path, so the
 * kernel frees it when the process dies and a crash never leaves a stale lock (a pid file
 * would). A second agent learns the holder's pid from the socket for its error message.
 */
export async function lockStateDir(stateDir: string): Promise<StateDirLock> {
  const { dir, path } = await socketName(stateDir);
  const server = createServer((socket) => socket.end(`${process.pid}\n`));
  try {
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen({ path }, () => {
        server.off('error', failed);
        listening();
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new Error(`cannot lock state dir ${dir}: ${(err as Error).message}`);
    const pid = await holderPid(path);
    throw new Error(`another keyfleet-agent${pid === undefined ? '' : ` (pid ${pid})`} is using state dir ${dir}; stop it first`);
  }
  // The lock must not keep the process alive on its own.
  server.unref();
  return { release: () => new Promise<void>((closed) => server.close(() => closed())) };
}
