import { describe, expect, it } from 'vitest';
import { prunable, type RetentionCandidate } from './retention-policy.js';

const at = (iso: string, id = iso, verified = false): RetentionCandidate => ({ id, startedAt: new Date(iso), verified });

describe('prunable', () => {
  const backups = [
    at('2026-11-30T23:00:00Z'),
    at('2026-11-30T10:00:00Z'),
    at('2026-11-29T22:00:00Z'),
    at('2026-11-29T08:00:00Z'),
    at('2026-11-28T12:00:00Z'),
    at('2026-11-01T12:00:00Z'),
    at('2026-10-15T12:00:00Z'),
  ];
  const ids = (bs: RetentionCandidate[]) => bs.map((b) => b.id);

  it('keep-last keeps the newest N', () => {
    expect(ids(prunable(backups, { keepLast: 2 }))).toEqual(ids(backups.slice(2)));
  });

  it('keep-daily keeps the newest backup of each of the last N days that have one', () => {
    expect(ids(prunable(backups, { keepDaily: 3 }))).toEqual(['2026-11-30T10:00:00Z', '2026-11-29T08:00:00Z', '2026-11-01T12:00:00Z', '2026-10-15T12:00:00Z']);
  });

  it('rules add up, as in restic: a backup kept by any rule stays', () => {
    expect(ids(prunable(backups, { keepLast: 1, keepMonthly: 2 }))).toEqual([
      '2026-11-30T10:00:00Z',
      '2026-11-29T22:00:00Z',
      '2026-11-29T08:00:00Z',
      '2026-11-28T12:00:00Z',
      '2026-11-01T12:00:00Z',
    ]);
  });

  it('never lets the newest verified backup go, even when no rule keeps it', () => {
    const withVerified = [...backups.slice(0, 3), at('2026-11-28T12:00:00Z', 'proven', true), ...backups.slice(5)];
    expect(ids(prunable(withVerified, { keepLast: 1 }))).not.toContain('proven');
    expect(ids(prunable(withVerified, { keepLast: 1 }))).toContain('2026-10-15T12:00:00Z');
  });
});
