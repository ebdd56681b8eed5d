import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitReady } from './wait-ready.js';

const servers: Array<HttpServer | TcpServer> = [];
const sockets: Socket[] = [];

async function listen<S extends HttpServer | TcpServer>(server: S): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A management port that says UP, like Keycloak's. */
const management = () =>
  listen(
    createHttpServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"UP"}');
    }),
  );

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('waitReady', () => {
  it('resolves once the management port is UP and the public listener answers any HTTP status', async () => {
    const publicUrl = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = 404;
        res.end();
      }),
    );
    const ms = await waitReady({
      managementUrl: await management(),
      baseUrl: publicUrl,
      timeoutMs: 5_000,
      signal: AbortSignal.timeout(10_000),
      dead: async () => undefined,
      logTail: async () => '',
    });
    expect(ms).toBeLessThan(5_000);
  });

  it('does not take UP on the management port for ready while another process holds the public port', async () => {
    // What a Keycloak that failed to bind looks like from outside: UP on management, and the
    // public port held by a process that accepts connections and never answers.
    const squatter = await listen(createTcpServer((socket) => sockets.push(socket)));
    let checks = 0;
    const err = await waitReady({
      managementUrl: await management(),
      baseUrl: squatter,
      timeoutMs: 60_000,
      signal: AbortSignal.timeout(30_000),
      dead: async () => (++checks >= 2 ? 'the Keycloak process exited' : undefined),
      logTail: async () => 'INFO starting\nERROR Port 8080 seems to be in use by another process\nINFO stopped',
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'Keycloak will not become ready: the Keycloak process exited\nits log says:\nERROR Port 8080 seems to be in use by another process',
    );
  });

  it("quotes Keycloak's start-failure summary, not the errors other threads raise while it shuts down", async () => {
    // The shape of a real crash-looping container's log (database unreachable), stack frames cut.
    const log = [
      '2026-11-23 17:33:50,101 INFO  [org.keycloak.quarkus.runtime.storage.database.jpa] (main) Starting',
      '2026-11-23 17:33:55,401 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Failed to start server in (production) mode',
      '2026-11-23 17:33:55,402 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Connection to 127.0.0.1:1 refused.',
      '2026-11-23 17:33:55,403 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Connection refused',
      ...Array.from({ length: 10 }, () => [
        '2026-11-23 17:33:55,452 ERROR [io.quarkus.mutiny.runtime.MutinyInfrastructure] (vert.x-eventloop-thread-0) Mutiny had to drop the following exception [Error Occurred After Shutdown]: java.lang.RuntimeException: Error injecting',
        'Caused by: java.lang.IllegalStateException: ArC container not initialized: the container is not started',
        '\tat io.quarkus.arc.Arc.requireContainer(Arc.java:70)',
      ]).flat(),
    ].join('\n');
    const err = await waitReady({
      managementUrl: 'http://127.0.0.1:1',
      baseUrl: 'http://127.0.0.1:1',
      timeoutMs: 60_000,
      signal: AbortSignal.timeout(10_000),
      dead: async () => 'container kf-next keeps exiting (exit code 0, 1 restart(s))',
      logTail: async () => log,
    }).catch((e: Error) => e);
    const quoted = (err as Error).message.split('its log says:\n')[1]!.split('\n');
    expect(quoted).toHaveLength(3);
    expect(quoted[0]).toMatch(/Failed to start server/);
    expect(quoted[2]).toMatch(/ERROR: Connection refused$/);
  });

  it('says the public listener is the problem when it times out that way', async () => {
    const refused = await listen(createTcpServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const err = await waitReady({
      managementUrl: await management(),
      baseUrl: refused,
      timeoutMs: 1_000,
      signal: AbortSignal.timeout(10_000),
      dead: async () => undefined,
      logTail: async () => 'INFO nothing to see',
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      new RegExp(`^Keycloak not ready within 1s \\(management port UP but the public listener is not: connection refused to ${refused}/realms/master\\)`),
    );
  });
});
