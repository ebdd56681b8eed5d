import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../write-file-atomic.js';

/** What one hardening.apply changed, rule by rule, with each rule's before-state; kept on the host (never sent). */
export interface RollbackRecord {
  id: string;
  createdAt: string;
  /** The selection the apply ran with, so the audit after a rollback checks the same rules. */
  selection: unknown;
  applied: Array<{ rule: string; before: unknown }>;
  /** Set once rolled back: putting the same before-state back twice would undo later changes. */
  rolledBackAt?: string;
}

const dir = (stateDir: string) => join(stateDir, 'hardening', 'rollback');

/** Rollback records under `<state dir>/hardening/rollback/<id>.json`; ids sort by creation time. */
export const rollbackStore = {
  newId(): string {
    return `hr_${Date.now().toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
  },

  /** Written after every rule applied, so a crash half-way still leaves what to roll back. */
  async save(stateDir: string, record: RollbackRecord): Promise<void> {
    await mkdir(dir(stateDir), { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir(stateDir), `${record.id}.json`), JSON.stringify(record, null, 2));
  },

  /** The record with this id, or the newest not yet rolled back. */
  async load(stateDir: string, id?: string): Promise<RollbackRecord | undefined> {
    const read = async (name: string) => JSON.parse(await readFile(join(dir(stateDir), name), 'utf8')) as RollbackRecord;
    if (id) return read(`${id}.json`).catch(() => undefined);
    const names = (await readdir(dir(stateDir)).catch(() => [] as string[]))
      .filter((n) => /^hr_[0-9a-z]+\.json$/.test(n))
      .toSorted()
      .toReversed();
    for (const name of names) {
      const record = await read(name);
      if (!record.rolledBackAt) return record;
    }
    return undefined;
  },
};
