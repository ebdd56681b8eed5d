import { sql } from 'kysely';
import type { HubService } from '../../hub-feature.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import { channelConfig } from './alert-channel.js';
import { alertLink } from './alert-link.js';
import { type AlertsDb, alertsDb } from './alerts-tables.js';
import { notifyChannel } from './notify-channel.js';

/** Attempts per notification before it is marked failed (visible in the delivery log). */
export const MAX_ATTEMPTS = 5;
const retryBaseMs = () => Number(process.env.KEYFLEET_ALERTS_RETRY_BASE_MS) || 2_000;
const pollMs = () => Number(process.env.KEYFLEET_ALERTS_DELIVERY_MS) || 1_000;
/** A claimed notification is left alone by other hubs this long (a hub dying mid-send retries it after). */
const LEASE_SEC = 30;
/**
 * Delivers queued notifications: claims due ones (SKIP LOCKED plus a lease, so with several hubs
 * each goes out once), drops silenced ones as `silenced`, retries failures with backoff, and
 * after MAX_ATTEMPTS leaves them `failed` with the last error. Evaluation never waits on it.
 */
export const alertDelivery: HubService = {
  name: 'alert-delivery',
  async start(deps) {
    const db = alertsDb(deps.db);
    const log = deps.log.child({ service: 'alert-delivery' });
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => deliverDue(db, deps.secrets)).catch((err: unknown) => log.warn({ err }, 'alert delivery failed'));
    }, pollMs());
    return {
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  },
};

export async function deliverDue(db: AlertsDb, secrets: SecretStore): Promise<void> {
  const claimed = await sql<{ id: string; alert_id: string; transition: 'firing' | 'repeat' | 'resolved'; channel: string; attempts: number }>`
    UPDATE alert_notifications SET next_attempt_at = now() + ${LEASE_SEC} * interval '1 second', attempts = attempts + 1
     WHERE id IN (SELECT id FROM alert_notifications WHERE state = 'pending' AND next_attempt_at <= now()
                   ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
    RETURNING id, alert_id, transition, channel, attempts`.execute(db);
  for (const n of claimed.rows) {
    const alert = await db
      .selectFrom('alerts')
      .innerJoin('hosts', 'hosts.id', 'alerts.host_id')
      .selectAll('alerts')
      .select(['hosts.hostname', 'hosts.labels as host_labels'])
      .where('alerts.id', '=', n.alert_id)
      .executeTakeFirst();
    const channel = await db.selectFrom('alert_channels').selectAll().where('name', '=', n.channel).executeTakeFirst();
    if (!alert || !channel) {
      await db
        .updateTable('alert_notifications')
        .set({ state: 'failed', last_error: alert ? `channel ${n.channel} no longer exists` : 'alert gone' })
        .where('id', '=', n.id)
        .execute();
      continue;
    }
    const facts: Record<string, string> = {
      ...alert.host_labels,
      ...alert.labels,
      rule: alert.rule,
      host: alert.host_id,
      hostname: alert.hostname,
      severity: alert.severity,
    };
    const silences = await db.selectFrom('alert_silences').select(['id', 'matchers']).where('expires_at', '>', new Date()).execute();
    const silence = silences.find((s) => Object.entries(s.matchers).every(([k, v]) => facts[k] === v));
    if (silence) {
      await db
        .updateTable('alert_notifications')
        .set({ state: 'silenced', last_error: `silenced by ${silence.id}` })
        .where('id', '=', n.id)
        .execute();
      continue;
    }
    const notice = {
      deliveryId: n.id,
      transition: n.transition,
      alert: {
        id: alert.id,
        rule: alert.rule,
        severity: alert.severity,
        summary: alert.summary,
        hostId: alert.host_id,
        hostname: alert.hostname,
        labels: alert.labels,
        value: alert.value,
        startedAt: alert.started_at,
        firedAt: alert.fired_at,
        resolvedAt: alert.resolved_at,
      },
      link: alertLink(alert.id),
    };
    try {
      await notifyChannel(secrets, channelConfig(channel), { kind: 'alert', notice });
      const now = new Date();
      await db.updateTable('alert_notifications').set({ state: 'sent', sent_at: now, last_error: null }).where('id', '=', n.id).execute();
      await db.updateTable('alert_channels').set({ last_sent_at: now }).where('name', '=', n.channel).execute();
    } catch (err) {
      const reason = (err as Error).message.slice(0, 2000);
      const done = n.attempts >= MAX_ATTEMPTS;
      await db
        .updateTable('alert_notifications')
        .set({ state: done ? 'failed' : 'pending', last_error: reason, next_attempt_at: new Date(Date.now() + retryBaseMs() * 2 ** (n.attempts - 1)) })
        .where('id', '=', n.id)
        .execute();
      // The channel carries its newest failure, so `channels list` shows a broken one at once.
      await db.updateTable('alert_channels').set({ last_error: reason, last_error_at: new Date() }).where('name', '=', n.channel).execute();
    }
  }
}
