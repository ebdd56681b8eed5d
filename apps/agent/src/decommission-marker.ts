import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './write-file-atomic.js';

const markerSchema = z.object({
  hostId: z.string(),
  at: z.iso.datetime(),
  /** What told the agent: the NATS server or the hub, in its words. */
  reason: z.string(),
});

export type DecommissionMarker = z.infer<typeof markerSchema>;

const path = (stateDir: string) => join(stateDir, 'decommissioned.json');

/**
 * What an agent remembers once it learned that its host was decommissioned (its NATS
 * credential revoked), so that after a restart it says so once and stays idle instead of
 * knocking on NATS with a credential that will never work again. It names the host id: a
 * new enrollment in the same state dir (another host id) makes it void.
 */
export const decommissionMarker = {
  path,

  async read(stateDir: string, hostId: string): Promise<DecommissionMarker | undefined> {
    const text = await readFile(path(stateDir), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return undefined; // torn by hand: the agent finds out again from NATS or the hub
    }
    const parsed = markerSchema.safeParse(json);
    return parsed.success && parsed.data.hostId === hostId ? parsed.data : undefined;
  },

  async write(stateDir: string, marker: DecommissionMarker): Promise<void> {
    await writeFileAtomic(path(stateDir), JSON.stringify(markerSchema.parse(marker), null, 2));
  },
};
