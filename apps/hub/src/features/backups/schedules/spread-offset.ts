import { createHash } from 'node:crypto';

/**
 * Where in a run's spread window a host starts, in milliseconds: derived from the schedule, the
 * host and the run alone, so every hub computes the same start and the fleet's load is spread
 * evenly, while each host lands elsewhere in the window from one run to the next.
 */
export function spreadOffset(scheduleId: string, hostId: string, fireTime: Date, windowMs: number): number {
  if (windowMs <= 0) return 0;
  const digest = createHash('sha256').update(`${scheduleId}\0${hostId}\0${fireTime.toISOString()}`).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(windowMs));
}
