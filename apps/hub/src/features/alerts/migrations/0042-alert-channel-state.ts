import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Email joins webhooks; config holds each kind's settings (secrets only by name).
  await sql`ALTER TABLE alert_channels DROP CONSTRAINT alert_channels_kind_check`.execute(db);
  await sql`ALTER TABLE alert_channels ADD CONSTRAINT alert_channels_kind_check CHECK (kind IN ('webhook', 'email'))`.execute(db);
  // A channel's health at a glance (`channels list`): its last failure and its last success.
  await db.schema
    .alterTable('alert_channels')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'timestamptz')
    .addColumn('last_sent_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('alert_channels').dropColumn('last_error').dropColumn('last_error_at').dropColumn('last_sent_at').execute();
  await sql`ALTER TABLE alert_channels DROP CONSTRAINT alert_channels_kind_check`.execute(db);
  await sql`ALTER TABLE alert_channels ADD CONSTRAINT alert_channels_kind_check CHECK (kind IN ('webhook'))`.execute(db);
}
