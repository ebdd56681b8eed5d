import { createServer, type AddressInfo, type Server } from 'node:net';

/** A TCP port free on loopback right now (the OS picks it), e.g. for a new container's backend. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `count` distinct TCP ports free on loopback right now. All are held until the last is chosen:
 * one at a time, the OS may hand out a port it just released again. Free only now: whoever binds
 * them later can find one taken (see the process runtime's retry).
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      srv.unref();
      held.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
    }
    return held.map((srv) => (srv.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((srv) => new Promise((resolve) => srv.close(resolve))));
  }
}
