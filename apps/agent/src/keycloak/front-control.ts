import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';

const portPair = z.object({ httpPort: z.number().int().min(1).max(65535), managementPort: z.number().int().min(1).max(65535) });

/**
 * The agent ↔ front-process protocol: one JSON line per connection each way, over an abstract
 * Unix socket named after the state dir (so only processes on this host reach it, and it
 * vanishes with the front process).
 */
export const frontControl = {
  command: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('open'), ports: portPair, backends: portPair }),
    z.object({ kind: z.literal('drain'), old: portPair, timeoutMs: z.number().int().positive() }),
    z.object({ kind: z.literal('status') }),
    z.object({ kind: z.literal('close') }),
  ]),
  reply: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('ok'), open: z.boolean(), drained: z.boolean().optional() }),
    z.object({ kind: z.literal('error'), message: z.string() }),
  ]),
  async socketPath(stateDir: string): Promise<string> {
    const dir = await realpath(stateDir).catch(() => resolve(stateDir));
    return `\0keyfleet-front-${createHash('sha256').update(dir).digest('hex').slice(0, 32)}`;
  },
};

export type FrontCommand = z.infer<typeof frontControl.command>;
export type FrontReply = z.infer<typeof frontControl.reply>;
