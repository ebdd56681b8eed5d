import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // An alert still firing and unacknowledged is notified again every `repeat` of its rule:
  // `repeats` counts those, `notified_at` is when the last went out (the next is due from there).
  await db.schema
    .alterTable('alerts')
    .addColumn('notified_at', 'timestamptz')
    .addColumn('repeats', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Repeat n of an alert is one notification per channel, like its firing and its resolve.
  await db.schema
    .alterTable('alert_notifications')
    .addColumn('seq', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_once`.execute(db);
  await sql`ALTER TABLE alert_notifications ADD CONSTRAINT alert_notifications_once UNIQUE (alert_id, transition, channel, seq)`.execute(db);
  await sql`ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_transition_check`.execute(db);
  await sql`ALTER TABLE alert_notifications ADD CONSTRAINT alert_notifications_transition_check CHECK (transition IN ('firing', 'repeat', 'resolved'))`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('alert_notifications').where('transition', '=', 'repeat').execute();
  await sql`ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_transition_check`.execute(db);
  await sql`ALTER TABLE alert_notifications ADD CONSTRAINT alert_notifications_transition_check CHECK (transition IN ('firing', 'resolved'))`.execute(db);
  await sql`ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_once`.execute(db);
  await sql`ALTER TABLE alert_notifications ADD CONSTRAINT alert_notifications_once UNIQUE (alert_id, transition, channel)`.execute(db);
  await db.schema.alterTable('alert_notifications').dropColumn('seq').execute();
  await db.schema.alterTable('alerts').dropColumn('notified_at').dropColumn('repeats').execute();
}
