/** How many backups to keep, restic-style: the newest N, and the newest of each of the last N hours, days, … */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

export interface RetentionCandidate {
  id: string;
  startedAt: Date;
  verified: boolean;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** ISO week of a date (UTC), as `YYYY-Www`: weeks start on Monday and belong to the year of their Thursday. */
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${pad(week)}`;
}

const BUCKETS: Array<[keyof RetentionPolicy, (d: Date) => string]> = [
  ['keepHourly', (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}`],
  ['keepDaily', (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`],
  ['keepWeekly', isoWeek],
  ['keepMonthly', (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`],
  ['keepYearly', (d) => String(d.getUTCFullYear())],
];

/**
 * Which of one host's usable backups a policy lets go, with restic's semantics (each rule keeps
 * backups independently; a backup kept by any rule stays; buckets are UTC). The newest verified
 * backup always stays, whatever the policy: it is the one proven to restore.
 */
export function prunable(backups: RetentionCandidate[], policy: RetentionPolicy): RetentionCandidate[] {
  const newestFirst = [...backups].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || b.id.localeCompare(a.id));
  const keep = new Set<string>();
  for (const b of newestFirst.slice(0, policy.keepLast ?? 0)) keep.add(b.id);
  for (const [rule, bucketOf] of BUCKETS) {
    const limit = policy[rule] ?? 0;
    let last: string | undefined;
    let kept = 0;
    for (const b of newestFirst) {
      if (kept >= limit) break;
      const bucket = bucketOf(b.startedAt);
      if (bucket !== last) {
        keep.add(b.id);
        last = bucket;
        kept++;
      }
    }
  }
  const newestVerified = newestFirst.find((b) => b.verified);
  if (newestVerified) keep.add(newestVerified.id);
  return newestFirst.filter((b) => !keep.has(b.id));
}
