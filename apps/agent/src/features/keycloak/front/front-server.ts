import { chmod, unlink } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import type { Logger } from '@keyfleet/log';
import { frontControl, type FrontCommand, type FrontReply } from './front-control.js';
import { frontChallenges } from './front-challenges.js';
import { FrontPair } from './front-pair.js';

const MAX_LINE = 4096;

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The front process of a Keycloak (`keyfleet-agent front`): owns the public ports (terminating
 * TLS on the HTTPS one) and forwards to the active Keycloak, so Keycloak stays reachable while the agent
 * restarts or is upgraded. The agent steers it over the control socket; commands are applied
 * one at a time. Resolves once told to close (or on SIGTERM/SIGINT), with the ports released.
 */
export async function serveFront(stateDir: string, log: Logger): Promise<void> {
  const pair = new FrontPair(log, async (token) => (await frontChallenges.answer(stateDir, token))?.keyAuthorization);
  let queue = Promise.resolve();
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  const apply = async (command: FrontCommand): Promise<FrontReply> => {
    switch (command.kind) {
      case 'open':
        await pair.open(command.ports, command.backends, command.upstream, command.tls);
        log.info(
          {
            ports: command.ports,
            backends: command.backends,
            upstream: command.upstream ?? 'none',
            httpsPort: command.tls?.httpsPort,
            http: !command.tls || command.tls.httpEnabled,
          },
          'front serving',
        );
        return { kind: 'ok', open: true };
      case 'tls':
        await pair.serveTls(command.tls);
        log.info({ httpsPort: command.tls.httpsPort, http: command.tls.httpEnabled }, 'front serving a new certificate');
        return { kind: 'ok', open: pair.isOpen };
      case 'drain':
        return { kind: 'ok', open: pair.isOpen, drained: await pair.drain(command.old, command.timeoutMs) };
      case 'status':
        return { kind: 'ok', open: pair.isOpen };
      case 'close':
        await pair.close();
        finish();
        return { kind: 'ok', open: false };
    }
  };

  const handle = (socket: Socket) => {
    let line = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      line += chunk;
      if (line.length > MAX_LINE) return void socket.destroy();
      const end = line.indexOf('\n');
      if (end < 0) return;
      socket.removeAllListeners('data');
      let command: FrontCommand;
      try {
        command = frontControl.command.parse(JSON.parse(line.slice(0, end)));
      } catch (err) {
        log.warn({ reason: (err as Error).message }, 'front refused a malformed control command');
        return void socket.end(`${JSON.stringify({ kind: 'error', message: 'malformed command' } satisfies FrontReply)}\n`);
      }
      queue = queue.then(async () => {
        const reply = await apply(command).catch((err: Error): FrontReply => ({ kind: 'error', message: err.message }));
        socket.end(`${JSON.stringify(reply)}\n`);
      });
    });
  };

  const control = createServer(handle);
  const path = frontControl.socketPath(stateDir);
  const listen = () =>
    new Promise<void>((listening, failed) => {
      control.once('error', failed);
      control.listen({ path }, () => {
        control.off('error', failed);
        listening();
      });
    });
  await listen().catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw new Error(`front control socket ${path}: ${err.message}`);
    // The file outlives a killed front; only a live one answers on it.
    if (await answers(path)) throw new Error(`a Keycloak front already runs for state dir ${stateDir}`);
    await unlink(path);
    await listen();
  });
  // Owner only, whatever the umask: the state dir already is, this is belt and braces.
  await chmod(path, 0o600);
  const onSignal = () => void queue.then(() => pair.close()).then(finish);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  log.info({ stateDir }, 'front control listening');
  await finished;
  // Closing the server removes its socket file.
  await new Promise<void>((closed) => control.close(() => closed()));
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  log.info('front closed');
}
