import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

export interface DirLock {
  release(): Promise<void>;
}

const ID_FILE = '.keyfleet-lock-id';

/**
 * The lock's name: an abstract Unix socket (Linux) named after the directory's real path and a
 * random id kept in a 0600 file inside it. Abstract names are open to every local user; with the
 * id in the name, one who cannot read the directory cannot take the name before us and keep the
 * owner of the directory from starting.
 */
async function socketName(dir: string): Promise<{ real: string; path: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const real = await realpath(dir);
  const idFile = join(real, ID_FILE);
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = (await readFile(idFile, 'utf8').catch(() => '')).trim();
    if (id) return { real, path: `\0keyfleet-lock-${createHash('sha256').update(`${real}\n${id}`).digest('hex').slice(0, 40)}` };
    const created = await writeFile(idFile, randomBytes(16).toString('hex'), { mode: 0o600, flag: 'wx' }).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw new Error(`cannot lock ${real}: ${err.message}`);
        return false;
      },
    );
    // Lost the race to create it: the winner may not have written the id yet.
    if (!created) await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`cannot lock ${real}: ${idFile} stays empty`);
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
 * agent's identity and journal, an embedded database); creates it (0700) if missing. The lock
 * is an abstract Unix socket, so the kernel frees it when the process dies and a crash never
 * leaves a stale lock (a pid file would). A second claimant learns from the socket who holds
 * it, for its error message. `owner` names this process in that message.
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
