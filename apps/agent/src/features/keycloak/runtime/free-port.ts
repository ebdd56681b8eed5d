import { createServer, type AddressInfo } from 'node:net';

/** A TCP port free on loopback right now (the OS picks it), e.g. for a new container's backend. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
