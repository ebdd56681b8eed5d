import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Slack incoming webhooks join webhooks and email (the URL itself lives in the secret store).
  await sql`ALTER TABLE alert_channels DROP CONSTRAINT alert_channels_kind_check`.execute(db);
  await sql`ALTER TABLE alert_channels ADD CONSTRAINT alert_channels_kind_check CHECK (kind IN ('webhook', 'email', 'slack'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE alert_channels DROP CONSTRAINT alert_channels_kind_check`.execute(db);
  await sql`ALTER TABLE alert_channels ADD CONSTRAINT alert_channels_kind_check CHECK (kind IN ('webhook', 'email'))`.execute(db);
}
