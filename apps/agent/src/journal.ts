import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '@keyfleet/log';
import { ids, result as resultMessage, task as taskMessage } from '@keyfleet/proto/v1';
import { writeFileAtomic } from './write-file-atomic.js';

/** What the agent must remember of a task to run it after a restart. */
const journaledTask = taskMessage.pick({ taskId: true, type: true, params: true, timeoutMs: true, expiresAt: true });
/** The part of a result message that is the task's outcome (the envelope is made fresh on every send). */
const resultBody = resultMessage.pick({ outcome: true, output: true, error: true, startedAt: true, finishedAt: true });

const entrySchema = journaledTask.extend({
  state: z.enum(['accepted', 'started', 'finished', 'acked']),
  /** The params held secret values that were left off the disk: the task cannot run from this file. */
  secretsWithheld: z.boolean().optional(),
  acceptedAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  result: resultBody.optional(),
  updatedAt: z.iso.datetime(),
});

export type JournaledTask = z.infer<typeof journaledTask>;
export type ResultBody = z.infer<typeof resultBody>;
export type JournalEntry = z.infer<typeof entrySchema>;
type JournalState = JournalEntry['state'];

/** Entries not yet acked are kept whole in memory (they are few); acked ones only as a state and age. */
type Slot = { state: JournalState; updatedAt: number; entry?: JournalEntry };

const SUFFIX = '.json';

/**
 * The on-disk record of every task id this agent has seen, one file per task in
 * `<stateDir>/journal`, each written atomically. It is what makes delivery
 * exactly-once in effect: an id is journaled before the agent says `accepted`, and
 * an id found here is never executed again. Secret values the hub filled into params
 * (an age identity for a drill, a client secret) stay in memory: the file keeps only
 * their references.
 */
export class Journal {
  private readonly slots = new Map<string, Slot>();
  /** Writes for one task are chained so a later state never lands before an earlier one. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  static async open(dir: string, log: Logger): Promise<Journal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const journal = new Journal(dir, log);
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) {
        // A crash between write and rename; the previous version (if any) is intact.
        await unlink(join(dir, name));
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const taskId = name.slice(0, -SUFFIX.length);
      if (!ids.task.safeParse(taskId).success) continue;
      await journal.load(taskId);
    }
    return journal;
  }

  private async load(taskId: string): Promise<void> {
    const path = this.path(taskId);
    try {
      const parsed = entrySchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
      const e = parsed.data;
      this.slots.set(taskId, { state: e.state, updatedAt: Date.parse(e.updatedAt), entry: e.state === 'acked' ? undefined : e });
    } catch (err) {
      // The id was seen, so it must still never run again; there is just nothing left to report.
      this.log.error({ taskId, path, reason: (err as Error).message }, 'unreadable journal entry; treating the task as done');
      const mtime = await stat(path).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      );
      this.slots.set(taskId, { state: 'acked', updatedAt: mtime });
    }
  }

  /** How many task ids the journal holds and the bytes of their files on disk. */
  async stats(): Promise<{ entries: number; bytes: number }> {
    let bytes = 0;
    let entries = 0;
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      const size = await stat(join(this.dir, name)).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined) continue;
      entries++;
      bytes += size;
    }
    return { entries, bytes };
  }

  private path(taskId: string): string {
    return join(this.dir, `${taskId}${SUFFIX}`);
  }

  state(taskId: string): JournalState | undefined {
    return this.slots.get(taskId)?.state;
  }

  get(taskId: string): JournalEntry | undefined {
    return this.slots.get(taskId)?.entry;
  }

  /**
   * Settles what a previous run left behind: a task that started but has no result
   * was cut off by the restart and becomes `failed` / `interrupted` (it is never run
   * again); tasks accepted but not started are returned to run; results not yet
   * acknowledged are returned to re-send.
   */
  async recover(): Promise<{ run: JournaledTask[]; resend: Array<{ taskId: string; result: ResultBody }> }> {
    const run: JournaledTask[] = [];
    const resend: Array<{ taskId: string; result: ResultBody }> = [];
    for (const [taskId, slot] of this.slots) {
      const e = slot.entry;
      if (!e) continue;
      if (e.state === 'accepted' && e.secretsWithheld) {
        const result: ResultBody = {
          outcome: 'failed',
          error: { code: 'interrupted', message: 'agent restarted before the task started; its secret values are never written to disk, so run it again' },
          finishedAt: new Date().toISOString(),
        };
        await this.markFinished(taskId, result);
        this.log.warn({ taskId }, 'task with secrets was interrupted by an agent restart before it started');
        resend.push({ taskId, result });
      } else if (e.state === 'accepted') run.push(e);
      else if (e.state === 'finished' && e.result) resend.push({ taskId, result: e.result });
      else if (e.state === 'started') {
        const result: ResultBody = {
          outcome: 'failed',
          error: { code: 'interrupted', message: 'agent restarted while the task was running' },
          startedAt: e.startedAt,
          finishedAt: new Date().toISOString(),
        };
        await this.markFinished(taskId, result);
        this.log.warn({ taskId }, 'task was interrupted by an agent restart');
        resend.push({ taskId, result });
      }
    }
    return { run, resend };
  }

  /**
   * Records a new task id; resolves false without writing if the id was seen before.
   * The id is claimed synchronously, so two deliveries racing each other cannot both win.
   */
  async accept(task: JournaledTask): Promise<boolean> {
    if (this.slots.has(task.taskId)) return false;
    const now = new Date().toISOString();
    const entry: JournalEntry = { ...journaledTask.parse(task), state: 'accepted', acceptedAt: now, updatedAt: now };
    this.slots.set(task.taskId, { state: 'accepted', updatedAt: Date.parse(now), entry });
    try {
      await this.persist(entry);
    } catch (err) {
      // Not durably journaled: forget it so a redelivery can try again rather than be called a duplicate.
      this.slots.delete(task.taskId);
      throw err;
    }
    return true;
  }

  markStarted(taskId: string, startedAt: string): Promise<void> {
    return this.update(taskId, 'started', (e) => ({ ...e, startedAt }));
  }

  markFinished(taskId: string, result: ResultBody): Promise<void> {
    return this.update(taskId, 'finished', (e) => ({ ...e, result: resultBody.parse(result) }));
  }

  /** The hub has stored the result; the output is dropped from disk as it will never be sent again. */
  markAcked(taskId: string): Promise<void> {
    return this.update(taskId, 'acked', (e) => ({ ...e, params: null, result: e.result && { outcome: e.result.outcome, finishedAt: e.result.finishedAt } }));
  }

  /**
   * Deletes acked entries older than `maxAgeMs`. Unacked results that old are dropped too:
   * the hub gave up on those tasks long ago. Returns the number of entries removed.
   */
  async prune(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const [taskId, slot] of [...this.slots]) {
      if (now - slot.updatedAt <= maxAgeMs || (slot.state !== 'acked' && slot.state !== 'finished')) continue;
      if (slot.state === 'finished') this.log.warn({ taskId }, 'dropping a result the hub never acknowledged');
      this.slots.delete(taskId);
      await this.chain(taskId, () => unlink(this.path(taskId)).catch(() => undefined));
      removed++;
    }
    return removed;
  }

  private update(taskId: string, state: JournalState, change: (e: JournalEntry) => JournalEntry): Promise<void> {
    const slot = this.slots.get(taskId);
    if (!slot?.entry) return Promise.reject(new Error(`journal has no open entry for task ${taskId}`));
    const entry: JournalEntry = { ...change(slot.entry), state, updatedAt: new Date().toISOString() };
    slot.state = state;
    slot.updatedAt = Date.parse(entry.updatedAt);
    slot.entry = state === 'acked' ? undefined : entry;
    return this.persist(entry);
  }

  private persist(entry: JournalEntry): Promise<void> {
    const { value: params, withheld } = withoutSecretValues(entry.params);
    const data = JSON.stringify(withheld ? { ...entry, params, secretsWithheld: true } : entry);
    return this.chain(entry.taskId, () => writeFileAtomic(this.path(entry.taskId), data));
  }

  private chain(taskId: string, write: () => Promise<unknown>): Promise<void> {
    const next = (this.writes.get(taskId) ?? Promise.resolve()).then(async () => {
      await write();
    });
    const tail = next.catch(() => undefined);
    this.writes.set(taskId, tail);
    void tail.then(() => {
      if (this.writes.get(taskId) === tail) this.writes.delete(taskId);
    });
    return next;
  }
}

/** A copy of `value` where every secret reference (`{ $secret, value }`) keeps only its name. */
function withoutSecretValues(value: unknown): { value: unknown; withheld: boolean } {
  if (Array.isArray(value)) {
    const items = value.map(withoutSecretValues);
    return { value: items.map((i) => i.value), withheld: items.some((i) => i.withheld) };
  }
  if (value === null || typeof value !== 'object') return { value, withheld: false };
  const record = value as Record<string, unknown>;
  if (typeof record.$secret === 'string' && 'value' in record) return { value: { $secret: record.$secret }, withheld: true };
  let withheld = false;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    const stripped = withoutSecretValues(item);
    copy[key] = stripped.value;
    withheld ||= stripped.withheld;
  }
  return { value: copy, withheld };
}
