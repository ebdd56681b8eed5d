import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../../write-file-atomic.js';

const recordSchema = z.object({
  attemptId: z.string(),
  from: z.string(),
  to: z.string(),
  /** The file the supervisor runs, and the copy of the old agent put back on a rollback. */
  artifact: z.string(),
  previous: z.string(),
  supervisor: z.enum(['systemd', 'process']),
  swappedAt: z.iso.datetime(),
  deadlineAt: z.iso.datetime(),
  state: z.enum(['restarting', 'upgraded', 'rolled_back']),
  reason: z.string().optional(),
  finishedAt: z.iso.datetime().optional(),
  /** The hub stored the outcome; nothing left to report. */
  reported: z.boolean().default(false),
});

export type UpgradeRecord = z.infer<typeof recordSchema>;

const path = (stateDir: string) => join(stateDir, 'agent-upgrade.json');

/** The last upgrade of this agent, in the state dir: what the watchdog decides on and reports. */
export const upgradeRecord = {
  path,
  async read(stateDir: string): Promise<UpgradeRecord | undefined> {
    const text = await readFile(path(stateDir), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = recordSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${path(stateDir)} is invalid: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  },
  write(stateDir: string, record: UpgradeRecord): Promise<void> {
    return writeFileAtomic(path(stateDir), JSON.stringify(recordSchema.parse(record), null, 2));
  },
};
