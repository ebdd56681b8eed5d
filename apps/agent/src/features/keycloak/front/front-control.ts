import { join, resolve } from 'node:path';
import { z } from 'zod';

const portPair = z.object({ httpPort: z.number().int().min(1).max(65535), managementPort: z.number().int().min(1).max(65535) });

/** HTTPS on a public port, the front terminating TLS with these PEM files. */
const frontTls = z.object({
  httpsPort: z.number().int().min(1).max(65535),
  certificateFile: z.string(),
  certificateKeyFile: z.string(),
  /** Keep plain HTTP on the public HTTP port as well; otherwise that port is closed. */
  httpEnabled: z.boolean(),
});

/** Longest path a Unix socket address holds on Linux (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The agent ↔ front-process protocol: one JSON line per connection each way, over a Unix socket
 * file in the agent's 0700 state dir. Only the agent's user can reach it: the front decides
 * where Keycloak's public traffic goes, so an abstract socket (open to every local user) would
 * let anyone on the host redirect logins.
 */
export const frontControl = {
  command: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('open'),
      ports: portPair,
      backends: portPair,
      /** Forwarding headers a proxy in front of the front sets (see forwardedHeaders); absent: the front is the edge. */
      upstream: z.enum(['none', 'xforwarded', 'forwarded']).optional(),
      /** HTTPS on a public port too, the front terminating TLS (the PEM files are re-read on every open). */
      tls: frontTls.optional(),
    }),
    /** A new certificate (or HTTPS turned on) for the backends the front serves now. */
    z.object({ kind: z.literal('tls'), tls: frontTls }),
    z.object({ kind: z.literal('drain'), old: portPair, timeoutMs: z.number().int().positive() }),
    z.object({ kind: z.literal('status') }),
    z.object({ kind: z.literal('close') }),
  ]),
  reply: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('ok'), open: z.boolean(), drained: z.boolean().optional() }),
    z.object({ kind: z.literal('error'), message: z.string() }),
  ]),
  socketPath(stateDir: string): string {
    const path = join(resolve(stateDir), 'keycloak-front.sock');
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
      throw new Error(`state dir path too long for the Keycloak front's control socket (${path}); use a shorter --state-dir`);
    return path;
  },
};

export type FrontCommand = z.infer<typeof frontControl.command>;
export type FrontReply = z.infer<typeof frontControl.reply>;
export type FrontTls = z.infer<typeof frontTls>;
