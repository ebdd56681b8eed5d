import { hubRefusal, hubRequest } from '../hub-request.js';
import { type UpgradeRecord, upgradeRecord } from './upgrade-record.js';

/**
 * Tells the hub how an upgrade ended (POST /v1/agent/upgrade-report, signed as the host) and
 * marks the record reported; throws when the hub did not take it (the caller retries).
 */
export async function reportUpgrade(stateDir: string, record: UpgradeRecord): Promise<void> {
  if (record.state === 'restarting' || record.reported) return;
  const res = await hubRequest(stateDir, '/v1/agent/upgrade-report', {
    method: 'POST',
    json: { attemptId: record.attemptId, from: record.from, to: record.to, state: record.state, reason: record.reason, at: record.finishedAt },
  });
  if (!res.ok) throw new Error(`the hub did not take the upgrade report: ${await hubRefusal(res)}`);
  await upgradeRecord.write(stateDir, { ...record, reported: true });
}
