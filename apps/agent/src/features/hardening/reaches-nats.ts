import { connect } from 'node:net';

/**
 * Whether a fresh TCP connection to one of the NATS endpoints gets the server's `INFO` greeting
 * within `timeoutMs`. A fresh connection, not the agent's open one: a ruleset that keeps
 * established flows but blocks new ones would only show after the next reconnect.
 */
export async function reachesNats(endpoints: Array<{ host: string; port: number }>, timeoutMs: number): Promise<boolean> {
  const results = await Promise.all(
    endpoints.map(
      (e) =>
        new Promise<boolean>((resolve) => {
          const socket = connect({ host: e.host, port: e.port });
          const done = (ok: boolean) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(ok);
          };
          const timer = setTimeout(() => done(false), timeoutMs);
          let seen = '';
          socket.on('data', (d: Buffer) => {
            seen += d.toString('latin1');
            if (seen.length >= 5) done(seen.startsWith('INFO '));
          });
          socket.on('error', () => done(false));
          socket.on('close', () => done(false));
        }),
    ),
  );
  return results.some(Boolean);
}
