import type { AlertRule } from './alert-rule.js';
import type { AlertsDb } from './alerts-tables.js';
import { queueNotifications } from './queue-notifications.js';

/**
 * Notifies again the rule's alerts that are still firing, unacknowledged, and whose last
 * notification is `repeat` old at `now`. The conditional update claims each repeat once, so with
 * several hubs ticking it goes out once. An acknowledged alert stays quiet until it resolves.
 */
export async function queueRepeats(db: AlertsDb, rule: AlertRule, channels: () => Promise<string[]>, now = new Date()): Promise<number> {
  if (!rule.repeat) return 0;
  const due = new Date(now.getTime() - rule.repeat * 1000);
  const repeated = await db
    .updateTable('alerts')
    .set((eb) => ({ repeats: eb('repeats', '+', 1), notified_at: now }))
    .where('rule', '=', rule.name)
    .where('state', '=', 'firing')
    .where('acked_at', 'is', null)
    .where((eb) => eb(eb.fn.coalesce('notified_at', 'fired_at'), '<=', due))
    .returning(['id', 'repeats'])
    .execute();
  for (const r of repeated) await queueNotifications(db, r.id, 'repeat', rule.channels ?? (await channels()), r.repeats);
  return repeated.length;
}
