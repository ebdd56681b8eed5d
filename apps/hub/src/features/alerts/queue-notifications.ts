import { randomBytes } from 'node:crypto';
import type { AlertsDb } from './alerts-tables.js';

/**
 * Queues one notification per channel for an alert's transition (repeat `seq` for repeats).
 * The unique key makes it once however many hubs queue the same one.
 */
export async function queueNotifications(
  db: AlertsDb,
  alertId: string,
  transition: 'firing' | 'repeat' | 'resolved',
  channels: string[],
  seq = 0,
): Promise<void> {
  if (channels.length === 0) return;
  await db
    .insertInto('alert_notifications')
    .values(
      channels.map((channel) => ({ id: `ntf_${randomBytes(10).toString('hex')}`, alert_id: alertId, transition, channel, seq, state: 'pending' as const })),
    )
    .onConflict((oc) => oc.columns(['alert_id', 'transition', 'channel', 'seq']).doNothing())
    .execute();
}
