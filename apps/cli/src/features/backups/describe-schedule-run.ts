import type { BackupScheduleRun } from '@keyfleet/hub';

/** A run's outcome in one phrase for tables: `3 ok, 1 missed`, or `running: 2 running, 5 pending, 1 ok` until it settles. */
export function describeScheduleRun(run: Pick<BackupScheduleRun, 'settledAt' | 'units' | 'counts'> | null): string | null {
  if (!run) return null;
  const { pending, running, succeeded, failed, missed, skipped } = run.counts;
  const parts = [
    [running, 'running'],
    [pending, 'pending'],
    [succeeded, 'ok'],
    [failed, 'failed'],
    [missed, 'missed'],
    [skipped, 'skipped'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}`);
  if (run.units === 0) return 'no host matched';
  return run.settledAt ? parts.join(', ') : `running: ${parts.join(', ')}`;
}
