import { describe, expect, it } from 'vitest';
import { describeScheduleRun } from './describe-schedule-run.js';

const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, missed: 0, skipped: 0 };

describe('describeScheduleRun', () => {
  it('says what became of a settled run, leaving out what did not happen', () => {
    expect(describeScheduleRun({ settledAt: '2026-12-01T02:40:00Z', units: 4, counts: { ...counts, succeeded: 3, missed: 1 } })).toBe('3 ok, 1 missed');
  });

  it('marks a run still going, and one that matched no host', () => {
    expect(describeScheduleRun({ settledAt: null, units: 8, counts: { ...counts, running: 2, pending: 5, succeeded: 1 } })).toBe(
      'running: 2 running, 5 pending, 1 ok',
    );
    expect(describeScheduleRun({ settledAt: '2026-12-01T02:00:00Z', units: 0, counts })).toBe('no host matched');
    expect(describeScheduleRun(null)).toBeNull();
  });
});
