import { Cron } from 'croner';

export interface ScheduleCron {
  /** The newest cron time at or before `now`, or null when there is none after `after` (nothing to fire). */
  dueSince(after: Date, now: Date): Date | null;
  /** The first cron time after `now` (null when the expression never fires again). */
  nextAfter(now: Date): Date | null;
}

/**
 * A schedule's cron expression (5 fields, or 6 with seconds first) read in an IANA time zone.
 * Throws an Error whose message says what is wrong with the expression or the zone, so the API
 * can answer 400 with it.
 */
export function scheduleCron(expression: string, timezone: string): ScheduleCron {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new Error(`unknown time zone "${timezone}": give an IANA zone such as UTC or Europe/Berlin`);
  }
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone, paused: true, mode: '5-or-6-parts' });
  } catch (err) {
    throw new Error(`invalid cron expression "${expression}": ${(err as Error).message.replace(/^CronPattern: /, '')}`);
  }
  return {
    dueSince(after, now) {
      // previousRuns excludes its reference; one millisecond later includes a time exactly at `now`.
      const [latest] = cron.previousRuns(1, new Date(now.getTime() + 1));
      return latest && latest.getTime() > after.getTime() ? latest : null;
    },
    nextAfter: (now) => cron.nextRun(now),
  };
}
