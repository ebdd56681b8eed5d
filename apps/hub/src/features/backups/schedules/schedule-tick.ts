import type { Logger } from '@keyfleet/log';
import { fireDueSchedules } from './fire-due-schedules.js';
import { settleScheduleRuns } from './settle-schedule-runs.js';
import { type StartDueUnitsDeps, startDueUnits } from './start-due-units.js';

/**
 * One pass of the schedules at `now` (the clock is the caller's, so tests need not wait for cron
 * times): fire what is due, settle what ended (freeing room under the caps), start what may.
 * Every hub runs it; the fire key and the claims make that safe.
 */
export async function scheduleTick(deps: StartDueUnitsDeps & { log: Logger }, now: Date) {
  const fired = await fireDueSchedules(deps.db, now);
  for (const f of fired) deps.log.info({ scheduleId: f.scheduleId, fireTime: f.fireTime, units: f.units }, 'backup schedule fired');
  const { settled, pruned } = await settleScheduleRuns(deps.db, now, deps.log);
  const started = await startDueUnits(deps, now);
  return { fired, settled, pruned, started };
}
