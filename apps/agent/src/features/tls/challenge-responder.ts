import { createServer, type Server } from 'node:http';
import type { Logger } from '@keyfleet/log';

interface Answer {
  keyAuthorization: string;
  certificateId: string;
  expiresAt: number;
}

interface Listener {
  server: Server;
  answers: Map<string, Answer>;
  timer: NodeJS.Timeout;
}

const PREFIX = '/.well-known/acme-challenge/';

/**
 * Short-lived HTTP listeners that answer ACME HTTP-01 challenges, one per port, living in the
 * agent process between the `tls.challenge` task that opens them and the install (or TTL) that
 * ends them. They serve nothing but the tokens they were given.
 */
const listeners = new Map<number, Listener>();

export const ChallengeResponder = {
  async answer(port: number, token: string, answer: Answer, log: Logger): Promise<void> {
    let listener = listeners.get(port);
    if (!listener) {
      const answers = new Map<string, Answer>();
      const server = createServer((req, res) => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        const found = path.startsWith(PREFIX) ? answers.get(path.slice(PREFIX.length)) : undefined;
        if (req.method !== 'GET' || !found || found.expiresAt < Date.now()) {
          res.writeHead(404).end();
          return;
        }
        log.info({ port, certificateId: found.certificateId }, 'answered an ACME HTTP-01 challenge');
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(found.keyAuthorization);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            new Error(
              err.code === 'EADDRINUSE'
                ? `port ${port} is taken by another server, so the CA cannot reach the challenge answer there`
                : `cannot listen on port ${port} for the ACME challenge: ${err.message}`,
            ),
          ),
        );
        server.listen(port, () => resolve());
      });
      // Checked every second so an expired listener frees its port promptly.
      const timer = setInterval(() => ChallengeResponder.sweep(port), 1_000);
      timer.unref();
      listener = { server, answers, timer };
      listeners.set(port, listener);
    }
    listener.answers.set(token, answer);
  },

  /** Drops a certificate's answers (it was installed); a listener left with none closes. */
  forget(certificateId: string): void {
    for (const [port, l] of listeners) {
      for (const [token, a] of l.answers) if (a.certificateId === certificateId) l.answers.delete(token);
      if (l.answers.size === 0) ChallengeResponder.close(port);
    }
  },

  isListening(port: number): boolean {
    return listeners.has(port);
  },

  sweep(port: number): void {
    const l = listeners.get(port);
    if (!l) return;
    const now = Date.now();
    for (const [token, a] of l.answers) if (a.expiresAt < now) l.answers.delete(token);
    if (l.answers.size === 0) ChallengeResponder.close(port);
  },

  close(port: number): void {
    const l = listeners.get(port);
    if (!l) return;
    listeners.delete(port);
    clearInterval(l.timer);
    l.server.close();
    l.server.closeAllConnections();
  },
};
