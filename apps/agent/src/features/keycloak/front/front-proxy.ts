import { Agent, createServer, request, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { Logger } from '@keyfleet/log';
import { forwardedHeaders, type UpstreamHeaders } from './forwarded-headers.js';

/** Hop-by-hop headers belong to one connection and must not be forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((h) => h.trim()),
  );
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name) && !listed.has(name)));
}

/** A certificate chain and its key, PEM: what a TLS-terminating front serves. */
export interface FrontCredentials {
  cert: string;
  key: string;
}

/** The key authorization for an ACME HTTP-01 token, when one is waiting (see frontChallenges). */
export type ChallengeAnswers = (token: string) => Promise<string | undefined>;

const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/**
 * A minimal HTTP reverse proxy on a public port in front of a Keycloak backend on loopback.
 * Routing is per request, not per connection: after `switchTo`, every new request goes to
 * the new backend while requests in flight finish on the old one, so a client's keep-alive
 * connection survives the switch and no request fails. Host and other end-to-end headers
 * pass unchanged, so Keycloak builds the same URLs as without the proxy; X-Forwarded-* (or
 * Forwarded) tell it who the client is, since it sees only the front's connections.
 * Given credentials it terminates TLS and tells Keycloak the client used https.
 */
export class FrontProxy {
  private server: Server | HttpsServer | undefined;
  private target: number;
  private readonly agents = new Map<number, Agent>();
  private readonly inFlight = new Map<number, number>();

  constructor(
    readonly name: string,
    backendPort: number,
    private readonly log: Logger,
    private upstream: UpstreamHeaders = 'none',
    /** Plain-HTTP fronts answer ACME HTTP-01 challenges themselves: the CA connects to the public HTTP port the front owns. */
    private readonly challenges?: ChallengeAnswers,
  ) {
    this.target = backendPort;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  private agentFor(port: number): Agent {
    let agent = this.agents.get(port);
    if (!agent) {
      agent = new Agent({ keepAlive: true, maxSockets: 512 });
      this.agents.set(port, agent);
    }
    return agent;
  }

  async listen(port: number, host = '0.0.0.0', credentials?: FrontCredentials): Promise<void> {
    const proto = credentials ? 'https' : 'http';
    const handler: RequestListener = (req, res) => {
      const challenges = this.challenges;
      if (challenges && !credentials && req.method === 'GET' && req.url?.startsWith(ACME_CHALLENGE)) {
        // Answered here, never forwarded: Keycloak has nothing under this path, and an unknown token is a plain 404.
        const token = req.url.slice(ACME_CHALLENGE.length).split('?')[0] ?? '';
        challenges(token).then(
          (answer) => {
            if (answer === undefined) return void res.writeHead(404).end();
            this.log.info({ front: this.name }, 'answered an ACME HTTP-01 challenge');
            res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(answer);
          },
          () => res.writeHead(500).end(),
        );
        return;
      }
      const backend = this.target;
      const headers = forwardedHeaders(endToEnd(req.headers), { remoteAddress: req.socket.remoteAddress, proto }, this.upstream);
      this.inFlight.set(backend, (this.inFlight.get(backend) ?? 0) + 1);
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        this.inFlight.set(backend, (this.inFlight.get(backend) ?? 1) - 1);
      };
      res.once('close', done);
      const upstream = request({ host: '127.0.0.1', port: backend, method: req.method, path: req.url, headers, agent: this.agentFor(backend) }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        answer.pipe(res);
        answer.once('error', () => res.destroy());
      });
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        if (res.headersSent) return void res.destroy();
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`Keycloak backend 127.0.0.1:${backend} unreachable (${err.code ?? err.message})\n`);
      });
      req.pipe(upstream);
      req.once('error', () => upstream.destroy());
      // A client that went away must not keep its request running on Keycloak.
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
    };
    const server = credentials ? createHttpsServer(credentials, handler) : createServer(handler);
    // Keycloak sees only the proxy's connections; idle clients must not hold sockets forever.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new Error(
            err.code === 'EADDRINUSE'
              ? `port ${port} is already in use (the ${this.name} front of Keycloak needs it)`
              : `${this.name} front cannot listen on ${port}: ${err.message}`,
          ),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => this.log.error({ reason: err.message, front: this.name }, 'front proxy error'));
    this.server = server;
  }

  /**
   * Serves `credentials` from the next handshake on; connections already open keep the
   * certificate they saw, nothing is dropped (a renewal without a restart of anything).
   */
  setCredentials(credentials: FrontCredentials): void {
    if (!(this.server instanceof HttpsServer)) throw new Error(`the ${this.name} front does not terminate TLS`);
    this.server.setSecureContext(credentials);
  }

  /** From now on new requests go to `port`; requests already on their way finish where they are. */
  switchTo(port: number, upstream: UpstreamHeaders = this.upstream): void {
    this.target = port;
    this.upstream = upstream;
  }

  /** Resolves once no request is in flight to `port` (or after `timeoutMs`), then drops its idle connections. */
  async drain(port: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((this.inFlight.get(port) ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const drained = (this.inFlight.get(port) ?? 0) === 0;
    this.agents.get(port)?.destroy();
    this.agents.delete(port);
    this.inFlight.delete(port);
    return drained;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
