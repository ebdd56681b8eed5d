import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import type { AlertChannelKind } from './alert-channel.js';
import type { AlertRule } from './alert-rule.js';

type Ts = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTs = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type AlertsTables = {
  alert_rules: { name: string; version: number; spec: JSONColumnType<AlertRule>; builtin: boolean; updated_at: Ts; updated_by: string };
  alert_rule_versions: { name: string; version: number; spec: JSONColumnType<AlertRule>; applied_at: Ts; applied_by: string };
  alerts: {
    id: string;
    rule: string;
    host_id: string;
    fingerprint: string;
    labels: JSONColumnType<Record<string, string>>;
    severity: string;
    state: 'pending' | 'firing' | 'resolved';
    value: number | null;
    summary: string;
    started_at: Ts;
    fired_at: NullableTs;
    resolved_at: NullableTs;
    acked_at: NullableTs;
    acked_by: string | null;
    ack_note: string | null;
    /** When the last repeat went out (null: none yet; the first is due `repeat` after fired_at). */
    notified_at: NullableTs;
    repeats: ColumnType<number, number | undefined, number>;
  };
  alert_channels: {
    name: string;
    kind: AlertChannelKind;
    /** The kind's settings as `alertChannelInput` parsed them (rows of the first version lack `kind`: read them with `channelConfig`). */
    config: JSONColumnType<Record<string, unknown>>;
    created_at: Ts;
    created_by: string;
    last_error: string | null;
    last_error_at: NullableTs;
    last_sent_at: NullableTs;
  };
  alert_notifications: {
    id: string;
    alert_id: string;
    transition: 'firing' | 'repeat' | 'resolved';
    channel: string;
    /** Which repeat (1, 2, …); 0 for firing and resolved. */
    seq: ColumnType<number, number | undefined, number>;
    state: 'pending' | 'sent' | 'failed' | 'silenced';
    attempts: ColumnType<number, number | undefined, number>;
    next_attempt_at: Ts;
    last_error: string | null;
    created_at: Ts;
    sent_at: NullableTs;
  };
  alert_silences: { id: string; matchers: JSONColumnType<Record<string, string>>; comment: string; expires_at: Ts; created_at: Ts; created_by: string };
};

export type AlertsDb = Kysely<Database & AlertsTables>;

/** The hub's database seen with the alerts feature's tables. */
export function alertsDb(db: Kysely<Database>): AlertsDb {
  return db.withTables<AlertsTables>();
}
