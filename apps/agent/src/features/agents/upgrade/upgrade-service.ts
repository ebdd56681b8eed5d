import { setTimeout as sleep } from 'node:timers/promises';
import type { FeatureService } from '../../../agent-feature.js';
import { backoffDelay } from '../../../backoff-delay.js';
import { reportUpgrade } from './report-upgrade.js';
import { upgradeRecord } from './upgrade-record.js';

/**
 * What the upgrade handler needs of the running agent that a task context does not carry: how
 * many tasks run (it lets them finish before the restart). Set by the service below when the
 * agent starts; the handler and the service are one feature, so they share it here.
 */
export const agentRuntime = { runningTasks: (): number => 0 };

/**
 * Keeps `agentRuntime` and delivers an upgrade's outcome the watchdog could not (the hub was
 * down when it decided): retried with backoff until the hub takes it or the agent stops.
 */
export const upgradeService: FeatureService = {
  name: 'agent-upgrade',
  async start(ctx) {
    agentRuntime.runningTasks = ctx.runningTasks;
    const delivering = (async () => {
      for (let attempt = 0; !ctx.signal.aborted; attempt++) {
        const record = await upgradeRecord.read(ctx.stateDir).catch((err: unknown) => {
          ctx.log.warn({ reason: (err as Error).message }, 'unreadable upgrade record; its outcome is not reported');
          return undefined;
        });
        if (!record || record.state === 'restarting' || record.reported) return;
        try {
          await reportUpgrade(ctx.stateDir, record);
          ctx.log.info({ from: record.from, to: record.to, state: record.state }, 'reported the last upgrade to the hub');
          return;
        } catch (err) {
          ctx.log.warn({ reason: (err as Error).message }, 'could not report the last upgrade; will retry');
        }
        await sleep(backoffDelay(attempt, 1_000, 60_000), undefined, { signal: ctx.signal }).catch(() => undefined);
      }
    })();
    return { stop: () => delivering };
  },
};
