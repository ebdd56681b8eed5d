import { type realmChange, realmDiff } from '@keyfleet/proto/v1';
import type { z } from 'zod';

export type RealmChange = z.infer<typeof realmChange>;

/** One host's outcome of a realm plan or apply. */
export type RealmResult =
  | { hostId: string; taskId: string; ok: true; realm: string; inSync: boolean; changes: RealmChange[] }
  | { hostId: string; taskId: string; ok: false; state: string; reason: string };

/** Reads plan/apply outcomes from a finished batch's tasks; anything but a valid diff is a failure with its reason. */
export function realmResults(
  tasks: Array<{ id: string; hostId: string; state: string; output: unknown; error: { code: string; message: string } | null }>,
): RealmResult[] {
  return tasks.map((t): RealmResult => {
    if (t.state !== 'succeeded') {
      return { hostId: t.hostId, taskId: t.id, ok: false, state: t.state, reason: t.error ? `${t.error.code}: ${t.error.message}` : t.state };
    }
    const diff = realmDiff.safeParse(t.output);
    if (!diff.success)
      return {
        hostId: t.hostId,
        taskId: t.id,
        ok: false,
        state: t.state,
        reason: `the agent returned an output that is not a realm diff: ${JSON.stringify(t.output)?.slice(0, 200)}`,
      };
    return { hostId: t.hostId, taskId: t.id, ok: true, ...diff.data };
  });
}
